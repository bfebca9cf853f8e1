"""Checks hookwatch's OpenAPI document with third-party validators.

usage: openapi_check.py DOCUMENT OBSERVED

DOCUMENT is the document as served; OBSERVED is a JSON list of real answers from a scripted
session: {"method", "path" (the route's template), "status", "body"}. It checks that the document
is valid OpenAPI 3.1 (openapi-spec-validator), that every JSON body has an example that its own
schema accepts, and that every observed answer is documented and matches its schema
(openapi-schema-validator's OAS 3.1 dialect). Prints one line per problem; exits 1 if any.
"""
import json
import sys

from openapi_spec_validator import validate as validate_document
from openapi_schema_validator import OAS31Validator


def main():
    document = json.load(open(sys.argv[1]))
    observed = json.load(open(sys.argv[2]))
    validate_document(document)
    components = document.get("components", {})
    problems = []

    def check(instance, schema, where):
        # The components travel with the schema, so `#/components/schemas/...` resolves.
        validator = OAS31Validator({**schema, "components": components})
        for error in validator.iter_errors(instance):
            problems.append(f"{where}: {error.message} at {list(error.absolute_path)}")

    bodies = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            contents = [("request", operation.get("requestBody", {}).get("content", {}))]
            contents += [(status, r.get("content", {})) for status, r in operation["responses"].items()]
            for which, content in contents:
                media = content.get("application/json")
                if media is None:
                    continue
                bodies += 1
                where = f"{method.upper()} {path} {which}"
                if "example" not in media:
                    problems.append(f"{where}: no example")
                    continue
                check(media["example"], media.get("schema", {}), f"{where} example")

    for seen in observed:
        where = f"{seen['method']} {seen['path']} answered {seen['status']}"
        operation = document["paths"].get(seen["path"], {}).get(seen["method"].lower())
        if operation is None:
            problems.append(f"{where}: the route is not in the document")
            continue
        response = operation["responses"].get(str(seen["status"]))
        if response is None:
            problems.append(f"{where}: this status is not documented")
            continue
        media = response.get("content", {}).get("application/json")
        if seen["body"] is not None:
            if media is None:
                problems.append(f"{where}: a JSON body, documented as none")
            else:
                check(seen["body"], media.get("schema", {}), where)

    for problem in problems:
        print(problem)
    print(f"checked {bodies} documented bodies and {len(observed)} real answers", file=sys.stderr)
    sys.exit(1 if problems else 0)


main()
