use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    digihjelpen::cli::run(digihjelpen::cli::Cli::parse()).await
}
