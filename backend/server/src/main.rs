//! `attest`: one binary for the server and its operator commands.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
