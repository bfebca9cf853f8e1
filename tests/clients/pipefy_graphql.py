"""Manages webhooks through hookwatch's POST /graphql with a third-party GraphQL client (gql),
sending the requests of Pipefy's own documentation.

usage: pipefy_graphql.py GRAPHQL_URL TOKEN SINK_URL

Prints one JSON object: each step's answer (or its GraphQL error) by name.
"""
import json
import sys

from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.requests import RequestsHTTPTransport

url, token, sink = sys.argv[1:4]
transport = RequestsHTTPTransport(url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
client = Client(transport=transport, fetch_schema_from_transport=True)
results = {}


def step(name, document, variables=None):
    try:
        results[name] = client.execute(gql(document), variable_values=variables)
    except TransportQueryError as e:
        results[name] = {"errors": e.errors}


# Pipefy's "Pipe/Table Webhooks" reference, Create tab, with the endpoint replaced.
step("create", """
mutation {
  createWebhook(input: {
    actions: ["card.create", "card.move"],
    name: "Webhook 1",
    pipe_id: 123456,
    url: "%s"
  }) {
    webhook {
      id
      actions
      url
    }
  }
}""" % sink)
# The same URL and action on the same pipe: refused, then replaced when asked.
step("duplicate", """
mutation { createWebhook(input: {pipe_id: 123456, name: "again", url: "%s", actions: ["card.move"]}) {
  webhook { id } } }""" % sink)
step("override", """
mutation { createWebhook(input: {pipe_id: 123456, name: "Webhook 1", url: "%s", actions: ["card.create", "card.move"],
  overridePreviousWithSameUrl: true, email: "ops@example.com",
  headers: "{\\"Authorization\\": \\"Bearer consumer-token\\"}",
  filters: "{\\"to_phase_id\\": [311214434]}"}) {
  clientMutationId webhook { id name url actions headers filters email } } }""" % sink)
# Another pipe may use the same URL.
step("other_pipe", """
mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }""",
     {"input": {"pipe_id": "999", "name": "elsewhere", "url": sink, "actions": ["card.move"],
                "filters": {"to_phase_id": [1]}}})
step("table", """
mutation { createWebhook(input: {table_id: "ZdeRdE", actions: ["card.create"], name: "records", url: "%s"}) {
  webhook { id } } }""" % sink)
# Pipefy's reference page names the override flag overridePrevious: taken as well.
step("table_override", """
mutation { createWebhook(input: {table_id: "ZdeRdE", actions: ["card.create"], name: "records", url: "%s",
  overridePrevious: true}) { webhook { id } } }""" % sink)
step("flags_disagree", """
mutation { createWebhook(input: {table_id: "ZdeRdE", actions: ["card.create"], name: "records", url: "%s",
  overridePrevious: true, overridePreviousWithSameUrl: false}) { webhook { id } } }""" % sink)
step("organization", """
mutation {
  createOrganizationWebhook(input: {
    organization_id: 22,
    actions: ["user.invitation_sent", "user.invitation_accepted", "user.removal_from_org", "user.role_set"],
    name: "new webhook",
    url: "%s"
  }) {
    clientMutationId
    webhook { id actions }
  }
}""" % sink)
step("pipe", "{ pipe(id: 123456) { id webhooks { id actions url email headers filters } } }")
step("pipes", "{ pipes(ids: [123456, 999]) { id name webhooks { id actions url email headers filters } } }")
step("table_query", "{ table(id: \"ZdeRdE\") { id webhooks { id name headers actions url } } }")
step("org_query", "{ organization(id: 22) { id webhooks { id actions headers name url } } }")
step("orgs_query", "{ organizations(ids: [22, 23]) { id webhooks { id actions } } }")
pipe_hook = results["override"].get("createWebhook", {}).get("webhook", {}).get("id")
org_hook = results["organization"].get("createOrganizationWebhook", {}).get("webhook", {}).get("id")
step("update", """
mutation($id: ID!) { updateWebhook(input: {id: $id, actions: ["card.move"], email: "noc@example.com"}) {
  webhook { id actions email } } }""", {"id": pipe_hook})
step("update_org_as_pipe", """
mutation($id: ID!) { updateWebhook(input: {id: $id, name: "x"}) { webhook { id } } }""", {"id": org_hook})
step("bad_filters", """
mutation { createWebhook(input: {pipe_id: 1, name: "b", url: "%s", actions: ["card.move"], filters: "{not json"}) {
  webhook { id } } }""" % sink)
step("delete_org", """
mutation($id: ID!) { deleteOrganizationWebhook(input: {id: $id}) { success } }""", {"id": org_hook})
step("org_after", "{ organization(id: 22) { webhooks { id } } }")
print(json.dumps(results))
