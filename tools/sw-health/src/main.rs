fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = sw_health::nagios_argument_error(&args) {
        return std::process::ExitCode::from(code);
    }
    sw_core::cli::main(sw_health::run)
}
