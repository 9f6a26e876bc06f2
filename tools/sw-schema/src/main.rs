fn main() -> std::process::ExitCode {
    sw_core::cli::main(sw_schema::run)
}
