//! `X-Request-Id`: kept when 1–128 characters of `[A-Za-z0-9._-]`, replaced otherwise.

use crate::helpers::spawn_app;

async fn request_id_for(app: &crate::helpers::TestApp, sent: Option<&str>) -> String {
    let mut req = app.client.get(app.url("/livez"));
    if let Some(id) = sent {
        req = req.header("x-request-id", id);
    }
    let res = req.send().await.unwrap();
    res.headers()["x-request-id"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_request_without_an_id_gets_a_fresh_one() {
    let app = spawn_app().await;
    let first = request_id_for(&app, None).await;
    let second = request_id_for(&app, None).await;
    assert!(attest_shared::request_id::is_acceptable(&first), "{first}");
    assert_ne!(first, second);
}

#[tokio::test]
async fn an_acceptable_client_id_is_kept() {
    let app = spawn_app().await;
    for id in ["abc", "trace-01.A_b", &"x".repeat(128)] {
        assert_eq!(request_id_for(&app, Some(id)).await, id);
    }
}

#[tokio::test]
async fn an_unacceptable_client_id_is_replaced() {
    let app = spawn_app().await;
    for id in [&"x".repeat(129), "has space", "semi;colon", "<script>"] {
        let answered = request_id_for(&app, Some(id)).await;
        assert_ne!(answered, id);
        assert!(attest_shared::request_id::is_acceptable(&answered));
    }
}

#[tokio::test]
async fn error_bodies_quote_the_same_id() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/nowhere"))
        .header("x-request-id", "client-chosen-id")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "client-chosen-id");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["request_id"], "client-chosen-id");
}
