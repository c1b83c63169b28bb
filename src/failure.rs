//! How a command fails, and the exit code each kind of failure maps to (the README's exit-code
//! table): every command returns `Result<ExitCode, Failure>` and `main` reports the failure.

use std::process::ExitCode;

/// A failure and the exit code it maps to.
pub enum Failure {
    /// Bad input or usage: exit 2.
    Input(String),
    /// The run itself failed: exit 1.
    Runtime(String),
}

impl Failure {
    /// Prints the message on stderr and gives the exit code: 2 for bad input or usage, 1 for a
    /// run that failed.
    pub fn report(self) -> ExitCode {
        let (message, code) = match self {
            Failure::Input(m) => (m, 2),
            Failure::Runtime(m) => (m, 1),
        };
        eprintln!("error: {message}");
        ExitCode::from(code)
    }
}

impl From<faultline::Error> for Failure {
    fn from(e: faultline::Error) -> Failure {
        match e {
            faultline::Error::Input(m) => Failure::Input(m),
            faultline::Error::Run(m) => Failure::Runtime(m),
        }
    }
}
