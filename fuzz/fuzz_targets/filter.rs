//! The dashboard's filter language: any text parses or explains itself, and matching never panics.
#![no_main]
use hookwatch::dashboard::filter::Filter;
use hookwatch::domain::model::{DeliveryStatus, DeliverySummary, EventSummary};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Filter::parse(text) {
        Ok(filter) => {
            let event = EventSummary {
                id: "evt_01ABC".into(),
                action: "card.move".into(),
                received_at: 0,
                card_id: Some("42".into()),
                card_title: None,
                pipe_id: Some("P".into()),
                deliveries: vec![DeliverySummary {
                    id: "dlv_1".into(),
                    subscription_id: "sub_1".into(),
                    status: DeliveryStatus::Dead,
                    attempt_count: 1,
                    last_status_code: None,
                    last_error: None,
                    next_attempt_at: None,
                }],
            };
            let _ = filter.matches(&event, |id, q| id.contains(q));
        }
        Err(message) => assert!(!message.is_empty()),
    }
});
