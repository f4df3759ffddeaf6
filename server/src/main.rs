//! The `steadfast` binary. Errors reach the user as one clear message and a
//! non-zero exit, never a panic.

use clap::Parser;
use server::cli::{Cli, Command};
use server::serve::{Server, init_tracing};

// Workflow data moves as many small JSON values built and dropped on
// several threads; glibc's allocator spent a tenth of the CPU on them
// (`malloc_consolidate`, see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(args) => {
            init_tracing(args.log_format);
            let server = Server::start(&args).await?;
            println!("{}", server.banner());
            shutdown_signal().await;
            tracing::info!("shutting down");
            server.shutdown().await;
        }
        Command::Token(args) => {
            let auth =
                server::auth::Auth::load(&args.data_dir, args.jwt_secret.as_deref(), Some(""))?;
            println!("{}", auth.issue(&args.user)?);
        }
        Command::Bench(args) => {
            server::bench::init_logging();
            let report = server::bench::run(&args).await?;
            if args.json {
                println!("{}", report.to_json());
            } else {
                print!("{report}");
            }
            if !report.all_completed() {
                anyhow::bail!("not every workflow completed");
            }
        }
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
