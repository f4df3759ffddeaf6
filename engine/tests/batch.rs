//! One group commit holding several transitions of the same workflows: each
//! sees what the ones before it did, as if committed one by one.
mod common;

use chrono::Duration as Span;
use engine::clock::Clock;
use engine::store::{
    Applied, Handoff, LeaseGrant, NewTask, Outcome, Store, TaskRef, Transition, WorkflowTask,
    WorkflowTaskOutcome,
};
use engine::{ActivityOptions, EventKind, Timestamp};

fn start(id: &str, now: Timestamp) -> Transition {
    Transition::Start {
        id: id.into(),
        workflow_type: "w".into(),
        input: serde_json::json!({"id": id}),
        first_task: None,
        now,
    }
}

fn activity(seq: u32) -> NewTask {
    NewTask::Activity {
        seq,
        name: "act".into(),
        input: serde_json::Value::Null,
        options: ActivityOptions::default(),
    }
}

fn scheduled(seq: u32) -> EventKind {
    EventKind::ActivityScheduled {
        seq,
        name: "act".into(),
        input: serde_json::Value::Null,
        options: ActivityOptions::default(),
    }
}

/// Run 1 of `id`'s workflow task `task` consumed its inputs through
/// `consumed_through` and started the activities `seqs`.
fn schedule(
    task: TaskRef,
    id: &str,
    consumed_through: u64,
    seqs: &[u32],
    current_step: Option<&str>,
    now: Timestamp,
) -> Transition {
    let mut events = vec![EventKind::WorkflowTaskCompleted { consumed_through }];
    events.extend(seqs.iter().map(|seq| scheduled(*seq)));
    Transition::CompleteWorkflowTask {
        task,
        workflow_id: id.into(),
        run: 1,
        consumed_through,
        events,
        new_tasks: seqs.iter().map(|seq| activity(*seq)).collect(),
        cancelled: vec![],
        current_step: current_step.map(Into::into),
        closing: None,
        now,
    }
}

/// A start of `id` run eagerly: its first workflow task, committed with
/// it, started the activities `seqs` and set `current_step`.
fn eager_start(id: &str, seqs: &[u32], current_step: Option<&str>, now: Timestamp) -> Transition {
    let mut events = vec![EventKind::WorkflowTaskCompleted {
        consumed_through: 1,
    }];
    events.extend(seqs.iter().map(|seq| scheduled(*seq)));
    let mut start = start(id, now);
    if let Transition::Start { first_task, .. } = &mut start {
        *first_task = Some(WorkflowTaskOutcome {
            events,
            new_tasks: seqs.iter().map(|seq| activity(*seq)).collect(),
            cancelled: vec![],
            current_step: current_step.map(Into::into),
            closing: None,
        });
    }
    start
}

/// Claims, as another process would, the one workflow task due at `now`.
async fn claim_one(store: &dyn Store, now: Timestamp) -> WorkflowTask {
    let claimed = store
        .claim_workflow_tasks("other", now, std::time::Duration::from_secs(30), 10)
        .await
        .unwrap();
    match claimed.as_slice() {
        [claimed] => claimed.clone(),
        other => panic!("expected one workflow task, got {other:?}"),
    }
}

/// The lease this test process commits under.
fn lease(now: Timestamp) -> LeaseGrant {
    LeaseGrant {
        token: "me:1".into(),
        until: now + Span::seconds(30),
    }
}

fn workflow_task(handoffs: &[Handoff]) -> WorkflowTask {
    match handoffs {
        [Handoff::Workflow(task)] => task.clone(),
        other => panic!("expected one workflow task, got {other:?}"),
    }
}

#[tokio::test]
async fn transitions_in_one_batch_see_each_other_in_order() {
    let db = common::TestDb::new().await;
    let store = common::store(&db).await;
    let now = common::manual_clock().now();
    let lease = lease(now);
    let terminate = |id: &str| Transition::Terminate {
        id: id.into(),
        reason: "r".into(),
        now,
    };

    // The second start of an id finds the first; a terminate placed before
    // a start does not find the workflow, one placed after ends it.
    let outcomes = store
        .commit_leasing(
            vec![
                terminate("a"),
                start("a", now),
                start("a", now),
                start("b", now),
                terminate("b"),
            ]
            .into(),
            Some(&lease),
        )
        .await
        .unwrap();
    let applied: Vec<_> = outcomes.iter().map(|o| o.applied.clone()).collect();
    assert_eq!(applied[0], Applied::NotFound);
    assert_eq!(applied[1], Applied::Started { run: 1 });
    assert!(matches!(&applied[2], Applied::AlreadyExists(w) if w.id == "a"));
    assert_eq!(applied[3], Applied::Started { run: 1 });
    assert_eq!(applied[4], Applied::Done);
    // b's workflow task, created and dropped in the batch, is not handed off.
    assert!(
        outcomes[3].handoffs.is_empty(),
        "{:?}",
        outcomes[3].handoffs
    );
    assert_eq!(
        store.workflow("b").await.unwrap().unwrap().status,
        engine::WorkflowStatus::Terminated
    );
    // a's first task carries the event that made it.
    let first = workflow_task(&outcomes[1].handoffs);
    assert!(matches!(
        first.new_events.as_slice(),
        [e] if e.id == 1 && matches!(e.kind, EventKind::WorkflowStarted { .. })
    ));

    // a schedules two activities at once.
    let outcomes = store
        .commit_leasing(
            vec![schedule(
                first.task.clone(),
                "a",
                1,
                &[1, 2],
                Some("act"),
                now,
            )]
            .into(),
            Some(&lease),
        )
        .await
        .unwrap();
    let activities: Vec<_> = outcomes[0]
        .handoffs
        .iter()
        .map(|h| match h {
            Handoff::Activity(a) => a.clone(),
            other => panic!("expected activities, got {other:?}"),
        })
        .collect();
    assert_eq!(activities.len(), 2);
    let complete = |i: usize| Transition::CompleteActivity {
        task: activities[i].task.clone(),
        workflow_id: "a".into(),
        run: 1,
        outcome: EventKind::ActivityCompleted {
            seq: activities[i].seq,
            attempt: 1,
            result: serde_json::json!(i),
        },
        now,
    };
    // The first activity's result makes the next workflow task (event 5).
    let outcomes = store
        .commit_leasing(vec![complete(0)].into(), Some(&lease))
        .await
        .unwrap();
    let second = workflow_task(&outcomes[0].handoffs);
    assert_eq!(second.new_events.first().map(|e| e.id), Some(5));

    // One batch: that task completes (dropping its row) and the second
    // activity's result needs a new workflow task under the same key.
    let outcomes = store
        .commit_leasing(
            vec![
                schedule(second.task.clone(), "a", 5, &[], None, now),
                complete(1),
            ]
            .into(),
            Some(&lease),
        )
        .await
        .unwrap();
    assert_eq!(outcomes[0].applied, Applied::Appended { first_event_id: 6 });
    assert!(
        outcomes[0].handoffs.is_empty(),
        "its inputs were all consumed"
    );
    assert_eq!(outcomes[1].applied, Applied::Done);
    let third = workflow_task(&outcomes[1].handoffs);
    assert_ne!(third.task.id, second.task.id);
    assert!(matches!(
        third.new_events.as_slice(),
        [e] if e.id == 7 && matches!(e.kind, EventKind::ActivityCompleted { seq: 2, .. })
    ));
    // Exactly that one task is left, and it is ours.
    let later = now + Span::seconds(31);
    let claimable = store
        .claim_workflow_tasks("other", later, std::time::Duration::from_secs(5), 10)
        .await
        .unwrap();
    assert_eq!(
        claimable.iter().map(|t| t.task.id).collect::<Vec<_>>(),
        vec![third.task.id]
    );
    let history = store.history("a", 1, 0).await.unwrap();
    assert_eq!(
        history.iter().map(|e| e.id).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
}

/// An activity outcome committed together with the workflow task it wakes
/// is applied whole only when the instance saw everything before it and no
/// workflow task is pending; otherwise only the outcome lands, as usual.
#[tokio::test]
async fn eager_workflow_tasks_apply_only_on_what_the_instance_saw() {
    let db = common::TestDb::new().await;
    let store = common::store(&db).await;
    let now = common::manual_clock().now();
    let lease = lease(now);
    let completed = |seq: u32| EventKind::ActivityCompleted {
        seq,
        attempt: 1,
        result: serde_json::json!(seq),
    };
    let activities = |handoffs: &[Handoff]| -> Vec<engine::store::ActivityTask> {
        handoffs
            .iter()
            .filter_map(|h| match h {
                Handoff::Activity(a) => Some(a.clone()),
                Handoff::Workflow(_) => None,
            })
            .collect()
    };
    let commit = |t: Transition| {
        let store = store.clone();
        let lease = lease.clone();
        async move {
            store
                .commit_leasing(vec![t].into(), Some(&lease))
                .await
                .unwrap()
                .remove(0)
        }
    };
    let eager = |task: &engine::store::ActivityTask, outcome_id: u64, then: WorkflowTaskOutcome| {
        Transition::CompleteActivityEagerly {
            task: task.task.clone(),
            workflow_id: "e".into(),
            run: 1,
            outcome: completed(task.seq),
            outcome_id,
            then,
            now,
        }
    };
    let nothing = || WorkflowTaskOutcome {
        events: vec![EventKind::WorkflowTaskCompleted {
            consumed_through: 0,
        }],
        new_tasks: vec![],
        cancelled: vec![],
        current_step: None,
        closing: None,
    };

    let Outcome { handoffs, .. } = commit(start("e", now)).await;
    let first = workflow_task(&handoffs);
    let Outcome { handoffs, .. } = commit(schedule(first.task, "e", 1, &[1, 2], None, now)).await;
    let pair = activities(&handoffs);
    assert_eq!(pair.len(), 2);

    // The instance expected its outcome at 9, but the next event is 5: only
    // the outcome lands, with a workflow task carrying it.
    let Outcome {
        applied, handoffs, ..
    } = commit(eager(&pair[0], 9, nothing())).await;
    assert_eq!(applied, Applied::Done);
    let second = workflow_task(&handoffs);
    assert_eq!(second.new_events.first().map(|e| e.id), Some(5));

    // Right position (6), but that workflow task is pending: outcome only.
    let Outcome {
        applied, handoffs, ..
    } = commit(eager(&pair[1], 6, nothing())).await;
    assert_eq!(applied, Applied::Done);
    assert!(handoffs.is_empty(), "the pending task will see it");

    // The pending task runs and schedules a third activity (events 7, 8).
    let Outcome { handoffs, .. } = commit(schedule(second.task, "e", 6, &[3], None, now)).await;
    let third = activities(&handoffs);
    // Its outcome at 9 and the task it wakes, which completes the workflow.
    let closing = WorkflowTaskOutcome {
        events: vec![
            EventKind::WorkflowTaskCompleted {
                consumed_through: 9,
            },
            EventKind::WorkflowCompleted {
                result: serde_json::json!("done"),
            },
        ],
        closing: Some(engine::store::Closing {
            status: engine::WorkflowStatus::Completed,
            result: Some(serde_json::json!("done")),
            error: None,
        }),
        ..nothing()
    };
    let Outcome {
        applied,
        handoffs,
        closed,
    } = commit(eager(&third[0], 9, closing)).await;
    assert_eq!(applied, Applied::Appended { first_event_id: 10 });
    assert!(handoffs.is_empty());
    let record = store.workflow("e").await.unwrap().unwrap();
    assert_eq!(record.status, engine::WorkflowStatus::Completed);
    // The commit hands back the row it closed, as a read would show it.
    let closed = closed
        .expect("the close is reported")
        .into_record()
        .unwrap();
    assert_eq!(closed, record);
    let history = store.history("e", 1, 0).await.unwrap();
    assert_eq!(
        history.iter().map(|e| e.id).collect::<Vec<_>>(),
        (1..=11).collect::<Vec<_>>()
    );
    assert!(matches!(
        history[8].kind,
        EventKind::ActivityCompleted { seq: 3, .. }
    ));
    assert!(
        store
            .claim_workflow_tasks(
                "x",
                now + Span::hours(1),
                std::time::Duration::from_secs(5),
                10
            )
            .await
            .unwrap()
            .is_empty(),
        "no workflow task was created for the eager one"
    );
}

/// Eager start: the start and its first workflow task's decisions commit as
/// one transition; no workflow task is left, the activities are handed
/// over, and a second start of the id records nothing of its own task.
#[tokio::test]
async fn eager_start_records_the_first_task_with_the_start() {
    let db = common::TestDb::new().await;
    let store = common::store(&db).await;
    let now = common::manual_clock().now();
    let lease = lease(now);
    let start_es = |seqs: &[u32]| eager_start("es", seqs, Some("act"), now);
    let outcomes = store
        .commit_leasing(vec![start_es(&[1, 2]), start_es(&[3])].into(), Some(&lease))
        .await
        .unwrap();
    assert_eq!(outcomes[0].applied, Applied::Started { run: 1 });
    let seqs: Vec<u32> = outcomes[0]
        .handoffs
        .iter()
        .map(|h| match h {
            Handoff::Activity(a) => a.seq,
            other => panic!("only activities are handed over, got {other:?}"),
        })
        .collect();
    assert_eq!(seqs, [1, 2]);
    assert!(matches!(outcomes[1].applied, Applied::AlreadyExists(_)));
    assert!(outcomes[1].handoffs.is_empty());

    let history = store.history("es", 1, 0).await.unwrap();
    let kinds: Vec<_> = history.iter().map(|e| (e.id, e.kind.name())).collect();
    assert_eq!(
        kinds,
        [
            (1, "WorkflowStarted"),
            (2, "WorkflowTaskCompleted"),
            (3, "ActivityScheduled"),
            (4, "ActivityScheduled"),
        ]
    );
    let record = store.workflow("es").await.unwrap().unwrap();
    assert_eq!(record.current_step.as_deref(), Some("act"));
    assert_eq!(record.version, 4);
    let later = now + Span::minutes(5);
    let claimable = store
        .claim_workflow_tasks("other", later, std::time::Duration::from_secs(30), 10)
        .await
        .unwrap();
    assert!(claimable.is_empty(), "no workflow task: {claimable:?}");
}

/// A transition's events are stored together (one row on either backend);
/// reads from inside such a group, and across groups, still give each
/// event once, in order, with its own id.
#[tokio::test]
async fn history_reads_from_inside_a_transitions_events() {
    let db = common::TestDb::new().await;
    let store = common::store(&db).await;
    let now = common::manual_clock().now();
    store
        .commit_leasing(
            vec![eager_start("h", &[1, 2], None, now)].into(),
            Some(&lease(now)),
        )
        .await
        .unwrap();
    let later = now + Span::seconds(1);
    let terminate = Transition::Terminate {
        id: "h".into(),
        reason: "r".into(),
        now: later,
    };
    assert_eq!(store.commit(&[terminate]).await.unwrap(), [Applied::Done]);

    let whole = store.history("h", 1, 0).await.unwrap();
    let ids: Vec<u64> = whole.iter().map(|e| e.id).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    assert!(matches!(
        whole[3].kind,
        EventKind::ActivityScheduled { seq: 2, .. }
    ));
    assert_eq!(whole[3].time, now);
    assert_eq!(whole[4].time, later);
    for after in 0..=5u64 {
        let read = store.history("h", 1, after).await.unwrap();
        assert_eq!(read, whole[after as usize..], "after {after}");
    }
    assert!(store.history("h", 2, 0).await.unwrap().is_empty());
}

/// The SQLite writer keeps the rows its commits leave in memory; what
/// another connection commits in between (here a claim, an `UPDATE` of the
/// task's lease through the pool) must be seen by the next commit.
#[tokio::test]
async fn a_claim_between_two_commits_is_seen_by_the_second() {
    let db = common::TestDb::new().await;
    let store = common::store(&db).await;
    let now = common::manual_clock().now();
    // Started without a lease: its workflow task waits in the table, and
    // the writer has just written (and kept) its rows.
    assert_eq!(
        store.commit(&[start("c", now)]).await.unwrap(),
        [Applied::Started { run: 1 }]
    );
    let claimed = claim_one(store.as_ref(), now).await;

    // The claim's token holds the task; a token from before the claim does not.
    let before_claim = TaskRef {
        id: claimed.task.id,
        lease_token: "nobody".into(),
    };
    let applied = store
        .commit(&[
            schedule(before_claim, "c", 1, &[1], None, now),
            schedule(claimed.task.clone(), "c", 1, &[1], None, now),
        ])
        .await
        .unwrap();
    assert_eq!(
        applied,
        [Applied::Stale, Applied::Appended { first_event_id: 2 }]
    );
    let history = store.history("c", 1, 0).await.unwrap();
    assert_eq!(history.len(), 3, "{history:?}");
}

/// A released task's workflow need not be in the batch that releases it;
/// what the SQLite writer keeps of that workflow must not keep the lease.
#[tokio::test]
async fn a_released_lease_stays_released_for_later_commits() {
    let db = common::TestDb::new().await;
    let store = common::store(&db).await;
    let now = common::manual_clock().now();
    store.commit(&[start("r", now)]).await.unwrap();
    let claimed = claim_one(store.as_ref(), now).await;
    // A signal through the writer: it rewrites (and keeps) the workflow's
    // rows, the claimed task among them, still leased.
    let signal = Transition::Signal {
        id: "r".into(),
        name: "s".into(),
        payload: serde_json::Value::Null,
        now,
    };
    assert_eq!(store.commit(&[signal]).await.unwrap(), [Applied::Done]);
    let release = Transition::ReleaseTask {
        task: claimed.task.clone(),
        now,
    };
    assert_eq!(store.commit(&[release]).await.unwrap(), [Applied::Done]);

    // The released lease no longer holds the task.
    let applied = store
        .commit(&[schedule(claimed.task.clone(), "r", 2, &[1], None, now)])
        .await
        .unwrap();
    assert_eq!(applied, [Applied::Stale]);
}
