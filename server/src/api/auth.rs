//! Authentication as extractors: [`CaseAccess`] (case number in the path plus
//! the case token) and [`PlatformAccess`] (a platform API key). A handler
//! that takes one runs only for an authenticated caller.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};

use crate::AppState;
use crate::domain;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::secrets;

/// The bearer credential of a request, if it has one (the scheme name is
/// case-insensitive, RFC 9110 §11.1).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = v.trim_start().split_once(' ')?;
    let credential = credential.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credential.is_empty()).then_some(credential)
}

fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// The answer to a wrong guess: 429 while the source or the target is over
/// its limit, else `refusal`. The guess is counted either way. Only wrong
/// guesses reach here, so the right secret is never refused by the lockout.
pub(crate) fn wrong_guess(
    st: &AppState,
    ip: IpAddr,
    target: Option<&str>,
    refusal: ApiError,
) -> ApiError {
    let limited = st.throttle.blocked(ip, target);
    st.throttle.fail(ip, target);
    Metrics::add(&st.metrics.auth_failures, 1);
    if limited {
        Metrics::add(&st.metrics.rate_limited, 1);
        ApiError::rate_limited("too many failed attempts; wait and retry")
    } else {
        refusal
    }
}

/// The address the request came from (for the throttle of guesses).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts)))
    }
}

/// The case named by the `{case_number}` path segment, opened by its token
/// (`Authorization: Bearer <token>`). An unknown case and a wrong token are
/// refused identically (404).
#[derive(Debug, Clone, Copy)]
pub struct CaseAccess {
    /// The case's row id.
    pub case_id: i64,
}

impl FromRequestParts<Arc<AppState>> for CaseAccess {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        st: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, st)
            .await
            .map_err(|_| ApiError::case_not_found())?;
        let number = params
            .get("case_number")
            .ok_or_else(ApiError::case_not_found)?;
        let ip = client_ip(parts);
        let Some(token) = bearer(&parts.headers) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the case token is required (Authorization: Bearer <token>)",
            )
            .field("Authorization"));
        };
        match domain::authenticate_case(&st.store, number, token).await? {
            Some(case_id) => Ok(CaseAccess { case_id }),
            None => {
                // The target is the case as typed numbers normalise to, so an
                // unknown and a known case are counted (and answered) alike.
                let target = secrets::normalize_case_number(number);
                Err(wrong_guess(
                    st,
                    ip,
                    target.as_deref(),
                    ApiError::case_not_found(),
                ))
            }
        }
    }
}

/// A platform, authenticated by its API key (`Authorization: Bearer <key>`).
#[derive(Debug, Clone, Copy)]
pub struct PlatformAccess {
    /// The platform's row id.
    pub platform_id: i64,
}

impl FromRequestParts<Arc<AppState>> for PlatformAccess {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        st: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let ip = client_ip(parts);
        let key = bearer(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        match domain::authenticate_platform(&st.store, key).await? {
            Some(platform_id) => Ok(PlatformAccess { platform_id }),
            None => Err(wrong_guess(st, ip, None, ApiError::unauthorized())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for (v, want) in [
            ("Bearer abc", Some("abc")),
            ("BEARER abc", Some("abc")),
            ("bEaReR  abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer ", None),
            ("Bearerabc", None),
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            assert_eq!(bearer(&h), want, "{v:?}");
        }
    }
}
