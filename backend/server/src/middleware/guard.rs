//! Last line of defence around every handler and the rate limiter's credential
//! lookups: a panic becomes an opaque `500` problem (the process and its worker
//! live on), and a request that takes longer than `ATTEST_REQUEST_TIMEOUT_SECONDS`
//! to produce its response is answered `503` (rendered complete by [`EarlyAnswer`]).

use std::{panic::AssertUnwindSafe, time::Duration};

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web,
};
use attest_core::{AppError, ErrorKind};
use futures_util::FutureExt as _;

use super::early_answer::EarlyAnswer;

/// How long a handler may take to produce its response head.
#[derive(Clone, Copy, Debug)]
pub struct RequestTimeout(pub Duration);

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let timeout = req
        .app_data::<web::Data<RequestTimeout>>()
        .map_or(Duration::from_secs(30), |t| t.0);
    let answer = EarlyAnswer::of(&req);

    let guarded = AssertUnwindSafe(next.call(req)).catch_unwind();
    let error = match tokio::time::timeout(timeout, guarded).await {
        Ok(Ok(result)) => return result,
        Ok(Err(panic)) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %message, "handler panicked");
            AppError::bare(ErrorKind::Internal)
        }
        Err(_) => {
            tracing::warn!(timeout_s = timeout.as_secs(), "handler timed out");
            AppError::new(ErrorKind::Unavailable, "the request took too long; retry later")
        }
    };
    Err(answer.error(error, |_| {}))
}

#[cfg(test)]
mod tests {
    use actix_web::{middleware::from_fn, test, web, App, HttpResponse};

    use super::*;

    #[allow(clippy::panic)]
    async fn explode() -> HttpResponse {
        panic!("secret internals: db password is hunter2");
    }

    async fn dawdle() -> HttpResponse {
        tokio::time::sleep(Duration::from_secs(5)).await;
        HttpResponse::Ok().finish()
    }

    #[actix_web::test]
    async fn a_panicking_handler_is_an_opaque_500_and_the_service_lives_on() {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(middleware))
                .route("/boom", web::get().to(explode))
                .route("/ok", web::get().to(HttpResponse::Ok)),
        )
        .await;
        let err = test::try_call_service(&app, test::TestRequest::get().uri("/boom").to_request())
            .await
            .err()
            .unwrap();
        let res = err.error_response();
        assert_eq!(res.status(), 500);
        assert!(res.headers().contains_key("content-security-policy"));
        let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("\"code\":\"internal\""), "{text}");
        assert!(!text.contains("hunter2"), "{text}");

        let res = test::call_service(&app, test::TestRequest::get().uri("/ok").to_request()).await;
        assert_eq!(res.status(), 200);
    }

    #[actix_web::test]
    async fn a_slow_handler_is_cut_off_with_503() {
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(RequestTimeout(Duration::from_millis(50))))
                .wrap(from_fn(middleware))
                .route("/slow", web::get().to(dawdle)),
        )
        .await;
        let err = test::try_call_service(&app, test::TestRequest::get().uri("/slow").to_request())
            .await
            .err()
            .unwrap();
        assert_eq!(err.error_response().status(), 503);
    }
}
