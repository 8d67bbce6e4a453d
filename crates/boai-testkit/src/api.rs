//! Typed helpers for the HTTP tests: JSON in and out with a bearer token,
//! a token request's status, a demo project's id by code, row counts read
//! behind the application's back, and multipart bodies. One copy here
//! instead of one per test file.

use crate::TestApp;
use anyhow::Context;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;

impl TestApp {
    /// GET `path` with `token`: the status and the body as JSON (`Null`
    /// when the body is not JSON).
    pub async fn get(&self, token: &str, path: &str) -> anyhow::Result<(StatusCode, Value)> {
        let res = self.client().get(self.url(path)).bearer_auth(token).send().await?;
        let status = res.status();
        Ok((status, res.json().await.unwrap_or(Value::Null)))
    }

    /// GET `path` with `token`, which must answer 200: its JSON body.
    pub async fn get_json(&self, token: &str, path: &str) -> anyhow::Result<Value> {
        let (status, body) = self.get(token, path).await?;
        anyhow::ensure!(status == StatusCode::OK, "GET {path}: {status} {body}");
        Ok(body)
    }

    /// POST `body` as JSON to `path` with `token`: the status and the JSON
    /// answer (`Null` when there is none).
    pub async fn post_json(&self, token: &str, path: &str, body: &Value) -> anyhow::Result<(StatusCode, Value)> {
        let res = self
            .client()
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await?;
        let status = res.status();
        Ok((status, res.json().await.unwrap_or(Value::Null)))
    }

    /// The status a token request for `username` with `password` answers.
    pub async fn token_status(&self, username: &str, password: &str) -> anyhow::Result<StatusCode> {
        Ok(self
            .client()
            .post(self.url("/api/v1/auth/token"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await?
            .status())
    }

    /// The id of the demo project with `code` (e.g. `CATARACT`), as the API
    /// lists it to `token`'s user.
    pub async fn project_id(&self, token: &str, code: &str) -> anyhow::Result<String> {
        let list = self.get_json(token, "/api/v1/projects?per_page=100").await?;
        list["items"]
            .as_array()
            .and_then(|items| items.iter().find(|p| p["code"] == code))
            .and_then(|p| p["id"].as_str())
            .map(str::to_owned)
            .with_context(|| format!("no project {code}"))
    }

    /// The single integer a `SELECT COUNT(*) …`-like statement answers, read
    /// from the database directly.
    pub async fn count(&self, sql: &str) -> anyhow::Result<i64> {
        let db = self.db.raw().await?;
        let row = db
            .query_one(Statement::from_string(db.get_database_backend(), sql.to_owned()))
            .await?
            .context("no row")?;
        let n: i64 = row.try_get_by_index(0)?;
        db.close().await?;
        Ok(n)
    }
}

/// A multipart/form-data body, as a browser builds it: `fields`, then
/// `files` as (field, file name, bytes).
pub fn multipart_files(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----BoaiTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    for (field, file_name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A multipart/form-data body with at most one file, in the field `file`.
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    match file {
        Some((file_name, bytes)) => multipart_files(fields, &[("file", file_name, bytes)]),
        None => multipart_files(fields, &[]),
    }
}
