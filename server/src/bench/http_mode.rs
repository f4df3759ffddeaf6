//! HTTP mode: a real server in this process on 127.0.0.1 (an ephemeral
//! port, the benchmark's data folder), orders placed with
//! `POST /api/orders` and a customer token, and `process_order`'s
//! activities calling the simulated inventory, payment and fulfilment
//! services over HTTP. Completion is observed through the engine client.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use crate::cli::{Cli, Command, Role};
use crate::serve::Server;

use super::database::Location;
use super::engine_mode::{ITEM, USER, order_request};
use super::options::BenchArgs;

/// A running server and a customer's HTTP client for it.
pub struct HttpTarget {
    server: Server,
    http: reqwest::Client,
    orders_url: String,
    bearer: String,
}

impl HttpTarget {
    /// Starts the server on the benchmark's database and restocks the item
    /// ordered so that `orders` more orders fit.
    pub async fn start(args: &BenchArgs, location: &Location, orders: u64) -> anyhow::Result<Self> {
        let dir = location.dir.display().to_string();
        let workflow_concurrency = args.workflow_concurrency.to_string();
        let activity_concurrency = args.activity_concurrency.to_string();
        let argv = [
            "steadfast",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &dir,
            "--database-url",
            &location.url,
            "--workflow-concurrency",
            &workflow_concurrency,
            "--activity-concurrency",
            &activity_concurrency,
        ];
        let Command::Serve(mut serve) = Cli::try_parse_from(argv)?.command else {
            anyhow::bail!("`serve` arguments did not parse as `serve`");
        };
        // What the environment may have set for a real server does not
        // apply here: the benchmark's own services, all roles, no hold.
        serve.services_database_url = Some(location.services_url());
        serve.services_url = None;
        serve.no_demo_services = false;
        serve.role = Role::All;
        serve.read_only = false;
        serve.hold_seconds = 0;
        let server = Server::start(&serve).await.context("starting the server")?;

        let services = server
            .state
            .services
            .clone()
            .context("the server hosts no simulated services")?;
        let stock = services.stock().await?;
        let reserved = stock
            .items
            .iter()
            .find(|i| i.item_id == ITEM)
            .map_or(0, |i| i.reserved);
        services
            .set_stock(ITEM, reserved + orders as i64 + 1_000)
            .await
            .context("restocking the item ordered")?;

        let bearer = format!("Bearer {}", server.state.auth.issue(USER)?);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            orders_url: format!("http://{}/api/orders", server.addr),
            server,
            http,
            bearer,
        })
    }

    /// `POST /api/orders`; answers once the server accepted (202) the order.
    pub async fn start_order(&self, id: &str) -> anyhow::Result<()> {
        let answer = self
            .http
            .post(&self.orders_url)
            .header("Authorization", &self.bearer)
            .json(&order_request(id))
            .send()
            .await?;
        let status = answer.status();
        if status != reqwest::StatusCode::ACCEPTED {
            let body = answer.text().await.unwrap_or_default();
            anyhow::bail!("POST /api/orders answered {status}: {body}");
        }
        Ok(())
    }

    pub fn client(&self) -> &engine::Client {
        &self.server.state.client
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
