//! With the `openapi` feature: the schemas' defaults are the values that
//! serde writes for `Default::default()` (durations as milliseconds).
#![cfg(feature = "openapi")]

use engine::{ActivityOptions, RetryPolicy};
use serde_json::Value;
use utoipa::PartialSchema;

fn defaults_match<T: PartialSchema + Default + serde::Serialize>() {
    let schema = serde_json::to_value(T::schema()).expect("schema as json");
    let serialized = serde_json::to_value(T::default()).expect("default as json");
    let properties = schema["properties"].as_object().expect("properties");
    for (name, property) in properties {
        assert_eq!(
            property.get("default").unwrap_or(&Value::Null),
            &serialized[name],
            "the schema's default of `{name}` differs from the serialized default"
        );
    }
}

#[test]
fn retry_policy_defaults_are_as_serialized() {
    defaults_match::<RetryPolicy>();
}

#[test]
fn activity_options_defaults_are_as_serialized() {
    defaults_match::<ActivityOptions>();
}
