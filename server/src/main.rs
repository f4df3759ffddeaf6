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
            // Caught from before the port is bound: a signal sent as soon as
            // the server answers must shut it down cleanly, not kill it.
            let shutdown = shutdown_signal()?;
            let server = Server::start(&args).await?;
            println!("{}", server.banner());
            shutdown.await;
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

/// Catches Ctrl-C and SIGTERM from now on; the future resolves on the
/// first of them.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
