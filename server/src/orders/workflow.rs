//! `process_order`: reserve -> optional hold -> charge -> ship. A failure or
//! a cancel undoes what was done, newest first: refund, then unreserve.
//! Compensation is by order id (the services undo whatever that order holds,
//! and nothing if it holds nothing), so a step cancelled while its request
//! was in flight is undone too.

use std::time::Duration;

use engine::{Failure, StepError, WorkflowContext, WorkflowError};

use super::activities::{CHARGE, REFUND, RESERVE, SHIP, UNRESERVE};
use super::model::{Order, OrderOutcome};
use crate::services::fulfilment::{ShipRequest, Shipment};
use crate::services::inventory::{Reservation, ReserveRequest, Unreservation, UnreserveRequest};
use crate::services::payment::{Charge, ChargeRequest, Refund, RefundRequest};

/// What has to be undone if the order cannot finish.
#[derive(Clone, Copy, PartialEq)]
enum Done {
    Reserved,
    Charged,
}

/// The order workflow.
pub async fn process_order(
    ctx: WorkflowContext,
    order: Order,
) -> Result<OrderOutcome, WorkflowError> {
    let reserved = ctx
        .activity::<_, Reservation>(
            RESERVE,
            &ReserveRequest {
                order_id: order.order_id.clone(),
                item_id: order.item_id.clone(),
                quantity: order.quantity,
            },
        )
        .await;
    let reservation = match reserved {
        Ok(reservation) => reservation,
        // Cancelled while the request was in flight: it may have reserved.
        Err(StepError::Cancelled) => {
            let cancelled = why(StepError::Cancelled, "reserve");
            return Err(compensate(&ctx, &order, Done::Reserved, cancelled).await);
        }
        Err(e) => return Err(why(e, "reserve")),
    };

    if order.hold_seconds > 0 {
        let held = ctx.sleep(Duration::from_secs(order.hold_seconds)).await;
        if let Err(e) = held {
            return Err(compensate(&ctx, &order, Done::Reserved, why(e, "hold")).await);
        }
    }
    if ctx.is_cancel_requested() {
        let cancelled = why(StepError::Cancelled, "charge");
        return Err(compensate(&ctx, &order, Done::Reserved, cancelled).await);
    }

    let charge: Charge = match ctx
        .activity(
            CHARGE,
            &ChargeRequest {
                order_id: order.order_id.clone(),
                user: order.user.clone(),
                amount_cents: reservation.amount_cents,
            },
        )
        .await
    {
        Ok(charge) => charge,
        Err(e) => {
            // A cancel may land while the charge request is in flight: refund too.
            let done = if e == StepError::Cancelled {
                Done::Charged
            } else {
                Done::Reserved
            };
            return Err(compensate(&ctx, &order, done, why(e, "charge")).await);
        }
    };

    let shipment: Shipment = match ctx
        .activity(
            SHIP,
            &ShipRequest {
                order_id: order.order_id.clone(),
                address: order.address.clone(),
                item_id: order.item_id.clone(),
                quantity: order.quantity,
            },
        )
        .await
    {
        Ok(shipment) => shipment,
        Err(e) => return Err(compensate(&ctx, &order, Done::Charged, why(e, "ship")).await),
    };

    Ok(OrderOutcome {
        reservation_id: reservation.reservation_id,
        charge_id: charge.charge_id,
        amount_cents: charge.amount_cents,
        tracking_id: shipment.tracking_id,
    })
}

/// The failure a step's error becomes, naming the step.
fn why(error: StepError, step: &str) -> Failure {
    match error {
        StepError::Cancelled => Failure::new(
            "Cancelled",
            format!("the order was cancelled before {step} finished"),
        ),
        StepError::Failed(f) => Failure::new(f.kind, format!("{step} failed: {}", f.message)),
    }
}

/// Undoes what was done (refund, then unreserve) and returns the failure the
/// workflow ends with: the original one, or — if an undo failed for good — a
/// `CompensationFailed` naming what an operator must still undo.
async fn compensate(ctx: &WorkflowContext, order: &Order, done: Done, cause: Failure) -> Failure {
    let mut not_undone = Vec::new();
    if done == Done::Charged {
        let refund = ctx
            .activity::<_, Refund>(
                REFUND,
                &RefundRequest {
                    charge_id: None,
                    order_id: Some(order.order_id.clone()),
                },
            )
            .await;
        if let Err(e) = refund {
            not_undone.push(format!(
                "the charge of order {} was not refunded ({e})",
                order.order_id
            ));
        }
    }
    let unreserve = ctx
        .activity::<_, Unreservation>(
            UNRESERVE,
            &UnreserveRequest {
                reservation_id: None,
                order_id: Some(order.order_id.clone()),
            },
        )
        .await;
    if let Err(e) = unreserve {
        not_undone.push(format!(
            "the stock of order {} was not unreserved ({e})",
            order.order_id
        ));
    }
    if not_undone.is_empty() {
        cause
    } else {
        Failure::new(
            "CompensationFailed",
            format!(
                "needs an operator: {} — after: {cause}",
                not_undone.join("; ")
            ),
        )
    }
}
