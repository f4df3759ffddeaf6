//! The workflow and activity functions an engine can run, by name.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::activity::{ActivityContext, ActivityError, ActivityOptions};
use crate::context::WorkflowContext;
use crate::history::Failure;

pub(crate) type WorkflowFn =
    Arc<dyn Fn(WorkflowContext, Value) -> BoxFuture<'static, Result<Value, Failure>> + Send + Sync>;
pub(crate) type ActivityFn = Arc<
    dyn Fn(ActivityContext, Value) -> BoxFuture<'static, Result<Value, ActivityError>>
        + Send
        + Sync,
>;
type Validate = Arc<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

pub(crate) struct WorkflowEntry {
    pub(crate) run: WorkflowFn,
    pub(crate) validate: Validate,
}

/// Registered functions by name.
#[derive(Default)]
pub(crate) struct Registry {
    pub(crate) workflows: HashMap<String, WorkflowEntry>,
    pub(crate) activities: HashMap<String, ActivityFn>,
    pub(crate) activity_options: Arc<HashMap<String, ActivityOptions>>,
}

impl Registry {
    pub(crate) fn add_workflow<I, O, F, Fut>(&mut self, name: &str, f: F)
    where
        I: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
        F: Fn(WorkflowContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, Failure>> + Send + 'static,
    {
        let f = Arc::new(f);
        let run: WorkflowFn = Arc::new(move |ctx, input| {
            let f = f.clone();
            Box::pin(async move {
                let input: I = serde_json::from_value(input)
                    .map_err(|e| Failure::new("InvalidInput", e.to_string()))?;
                let output = f(ctx, input).await?;
                serde_json::to_value(output)
                    .map_err(|e| Failure::new("InvalidOutput", e.to_string()))
            })
        });
        let validate: Validate =
            Arc::new(|input| I::deserialize(input).map(|_| ()).map_err(|e| e.to_string()));
        self.workflows
            .insert(name.to_string(), WorkflowEntry { run, validate });
    }

    pub(crate) fn add_activity<I, O, F, Fut>(&mut self, name: &str, options: ActivityOptions, f: F)
    where
        I: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
        F: Fn(ActivityContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ActivityError>> + Send + 'static,
    {
        let f = Arc::new(f);
        let run: ActivityFn = Arc::new(move |ctx, input| {
            let f = f.clone();
            Box::pin(async move {
                let input: I = serde_json::from_value(input)
                    .map_err(|e| ActivityError::non_retryable("InvalidInput", e.to_string()))?;
                let output = f(ctx, input).await?;
                serde_json::to_value(output)
                    .map_err(|e| ActivityError::non_retryable("InvalidOutput", e.to_string()))
            })
        });
        self.activities.insert(name.to_string(), run);
        Arc::make_mut(&mut self.activity_options).insert(name.to_string(), options);
    }
}
