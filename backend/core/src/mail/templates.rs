//! The mails Attest sends, in plain text and HTML.

use super::Mail;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html(title: &str, paragraphs: &[String], link: Option<(&str, &str)>) -> String {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>", escape(p)))
        .collect();
    let button = link
        .map(|(label, url)| format!("<p><a href=\"{}\">{}</a></p>", escape(url), escape(label)))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif\"><h2>{}</h2>{body}{button}</body></html>",
        escape(title)
    )
}

/// An invitation to join an organization.
pub fn invitation(to: &str, org_name: &str, inviter: &str, accept_url: &str, expires: &str) -> Mail {
    let subject = format!("You are invited to {org_name} on Attest");
    let lines = [
        format!("{inviter} invited you to join {org_name} on Attest."),
        format!("The invitation is valid until {expires}. If you did not expect it, ignore this mail."),
    ];
    Mail {
        to: to.to_owned(),
        text: format!("{}\n\nAccept it here:\n{accept_url}\n\n{}\n", lines[0], lines[1]),
        html: html(&subject, &lines, Some(("Accept the invitation", accept_url))),
        subject,
    }
}

/// The notice that repeated failed sign-ins locked the account.
pub fn lockout_notice(to: &str, until: &str) -> Mail {
    let subject = "Your Attest account was locked".to_owned();
    let lines = [
        "Several sign-in attempts with a wrong password were made on your Attest account, so it is locked for now."
            .to_owned(),
        format!("It unlocks by itself at {until}. If these attempts were not yours, tell your administrator."),
    ];
    Mail {
        to: to.to_owned(),
        text: format!("{}\n\n{}\n", lines[0], lines[1]),
        html: html(&subject, &lines, None),
        subject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_bodies_escape_what_users_control() {
        let mail = invitation(
            "a@example.com",
            "<Acme & Co>",
            "Ada",
            "https://x/accept?token=t",
            "soon",
        );
        assert!(mail.html.contains("&lt;Acme &amp; Co&gt;"));
        assert!(!mail.html.contains("<Acme"));
        assert!(mail.text.contains("https://x/accept?token=t"));
    }
}
