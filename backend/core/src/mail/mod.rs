//! Outgoing mail. Services never send directly: they [`outbox::enqueue`] a message
//! in the same transaction as the change it reports, and the outbox worker
//! delivers it, retrying with backoff, so a request never waits on SMTP and no
//! mail is lost while SMTP is down.

pub mod outbox;
pub mod templates;

use std::path::PathBuf;

use lettre::{
    message::{
        header::{ContentType, HeaderName, HeaderValue},
        Mailbox, MultiPart, SinglePart,
    },
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor,
};

/// One message, before it is addressed and encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// For list mail (status page notices): the one-click unsubscribe URL,
    /// sent as `List-Unsubscribe` with `List-Unsubscribe-Post` (RFC 8058).
    pub list_unsubscribe: Option<String>,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development and tests: each message becomes an `.eml` file.
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// Delivers mail over SMTP (`ATTEST_SMTP_URL`) or into `.eml` files.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    /// SMTP as lettre's `from_url` reads the URL; without one, files in `mail_dir`.
    pub fn new(smtp_url: Option<&str>, mail_dir: PathBuf, from: &str) -> Result<Self, String> {
        let from: Mailbox = from.parse().map_err(|e| format!("invalid sender address: {e}"))?;
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("invalid SMTP URL: {e}"))?
                    .timeout(Some(std::time::Duration::from_secs(15)))
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(&mail_dir)
                    .map_err(|e| format!("cannot create {}: {e}", mail_dir.display()))?;
                Transport::Files(AsyncFileTransport::new(mail_dir))
            }
        };
        Ok(Self { transport, from })
    }

    /// Sends one message; the error text is safe to store (no credentials).
    pub async fn send(&self, mail: &Mail) -> Result<(), String> {
        let to: Mailbox = mail.to.parse().map_err(|e| format!("invalid recipient: {e}"))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone());
        if let Some(url) = &mail.list_unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        let message = builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html.clone()),
                    ),
            )
            .map_err(|e| format!("cannot build the message: {e}"))?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|e| e.to_string()),
            Transport::Files(files) => files.send(message).await.map(drop).map_err(|e| e.to_string()),
        }
    }
}
