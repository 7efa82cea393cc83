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
        list_unsubscribe: None,
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
        list_unsubscribe: None,
    }
}

/// The link that sets a new password (valid for `minutes`).
pub fn password_reset(to: &str, reset_url: &str, minutes: u64) -> Mail {
    let subject = "Reset your Attest password".to_owned();
    let lines = [
        "Someone asked to reset the password of your Attest account.".to_owned(),
        format!(
            "The link works once, for {minutes} minutes. If it was not you, ignore this mail: your password stays as it is."
        ),
    ];
    Mail {
        to: to.to_owned(),
        text: format!(
            "{}\n\nSet a new password here:\n{reset_url}\n\n{}\n",
            lines[0], lines[1]
        ),
        html: html(&subject, &lines, Some(("Set a new password", reset_url))),
        subject,
        list_unsubscribe: None,
    }
}

/// The notice that the account's password changed (`how`: changed or reset).
pub fn password_changed(to: &str, how: &str) -> Mail {
    let subject = "Your Attest password was changed".to_owned();
    let lines = [
        format!("The password of your Attest account was {how}, and your other sessions were signed out."),
        "If this was not you, reset your password at once and tell your administrator.".to_owned(),
    ];
    Mail {
        to: to.to_owned(),
        text: format!("{}\n\n{}\n", lines[0], lines[1]),
        html: html(&subject, &lines, None),
        subject,
        list_unsubscribe: None,
    }
}

/// The notice to an org's admins that a domain stopped routing sign-ins.
pub fn domain_suspended(to: &str, org_name: &str, domain: &str, txt_name: &str, settings_url: &str) -> Mail {
    let subject = format!("{domain} no longer signs in to {org_name} with SSO");
    let lines = [
        format!(
            "Attest checked the TXT record at {txt_name} that proves {org_name} owns {domain}, and it is gone. \
             Sign-ins for {domain} no longer go to your identity provider."
        ),
        "Publish the record again, then verify the domain on the SSO settings page.".to_owned(),
    ];
    Mail {
        to: to.to_owned(),
        text: format!("{}\n\n{}\n{settings_url}\n", lines[0], lines[1]),
        html: html(&subject, &lines, Some(("Open the SSO settings", settings_url))),
        subject,
        list_unsubscribe: None,
    }
}

/// The double opt-in of a status page subscription (valid for `hours`).
pub fn status_confirmation(to: &str, page_name: &str, confirm_url: &str, hours: u64) -> Mail {
    let subject = format!("Confirm your subscription to the {page_name} status page");
    let lines = [
        format!("Someone asked to mail this address when the {page_name} status page reports an incident or a maintenance."),
        format!("Confirm within {hours} hours to start receiving them. If it was not you, ignore this mail: nothing will be sent."),
    ];
    Mail {
        to: to.to_owned(),
        text: format!("{}\n\nConfirm here:\n{confirm_url}\n\n{}\n", lines[0], lines[1]),
        html: html(&subject, &lines, Some(("Confirm the subscription", confirm_url))),
        subject,
        list_unsubscribe: None,
    }
}

/// An incident or maintenance notice to a confirmed subscriber, with its
/// one-click unsubscribe link.
pub fn status_notice(to: &str, subject: &str, text: &str, page_url: &str, unsubscribe_url: &str) -> Mail {
    let mut lines: Vec<String> = text.split("\n\n").map(str::to_owned).collect();
    lines.push(format!("Unsubscribe: {unsubscribe_url}"));
    Mail {
        to: to.to_owned(),
        text: format!("{text}\n\nThe status page: {page_url}\n\nUnsubscribe: {unsubscribe_url}\n"),
        html: html(subject, &lines, Some(("Open the status page", page_url))),
        subject: subject.to_owned(),
        list_unsubscribe: Some(unsubscribe_url.to_owned()),
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
