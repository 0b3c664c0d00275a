//! Counts every request the router answers by route pattern and status:
//! axum's `MatchedPath` (`/invite/{token}`, never the token itself), or a
//! fixed label for paths no route matched, so a scan of random paths adds
//! no series.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::metrics::{Metrics, UNMATCHED_ROUTE};

pub async fn count(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    metrics.http_request(
        route.as_ref().map_or(UNMATCHED_ROUTE, MatchedPath::as_str),
        response.status().as_u16(),
    );
    response
}
