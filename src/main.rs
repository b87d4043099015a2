//! The `mlk` binary: everything lives in the library; see [`mlk::cli`].

fn main() -> std::process::ExitCode {
    mlk::cli::main()
}
