//! The head-office web app's server side: the browser session in a strict cookie standing for
//! a bearer token (scoped like the API, refused cross-site, ended by logout), the live stream
//! told of each upload of the user's shops, and the built app served under `/hq/` with a
//! strict Content-Security-Policy, by the binary too (`serve --web-dir`), over HTTPS with a
//! `Secure` cookie.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use support::*;
use sync_server::secrets;
use sync_server::web_app::{CONTENT_SECURITY_POLICY, WebSettings};

on_every_backend!(
    a_browser_session_is_a_strict_cookie_scoped_like_the_api_and_ends_at_logout,
    a_request_with_the_cookie_from_another_site_is_refused,
    an_upload_is_told_to_the_open_live_streams_of_its_shop_only,
    the_built_app_is_served_with_a_strict_content_security_policy,
);

const PASSWORD: &str = "a long enough password";

async fn with_passwords(server: &Server) {
    for user in ["ada", "max"] {
        server
            .store
            .set_password(user, &secrets::hash_password(PASSWORD).unwrap())
            .await
            .unwrap();
    }
}

/// `POST /api/v1/web/session` as the app sends it; the answer's status, body and cookie pair
/// (`hq_session=...`) if one was set.
async fn web_login(server: &Server, user: &str, password: &str) -> (StatusCode, Value, String) {
    let response = server
        .http
        .post(format!("{}/api/v1/web/session", server.url))
        .header("x-pos-hq", "1")
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"user": user, "password": password}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, cookie)
}

fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().trim().to_string()
}

async fn get_with_cookie(server: &Server, path: &str, cookie: &str) -> (StatusCode, Value) {
    let response = server
        .http
        .get(format!("{}{path}", server.url))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn a_browser_session_is_a_strict_cookie_scoped_like_the_api_and_ends_at_logout(
    backend: Backend,
) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    with_passwords(&server).await;

    let (wrong, body, cookie) = web_login(&server, "max", "not the password").await;
    let (unknown, unknown_body, _) = web_login(&server, "nobody", PASSWORD).await;
    assert_eq!(
        wrong,
        StatusCode::UNAUTHORIZED,
        "a wrong password is refused"
    );
    assert!(cookie.is_empty(), "a refused login sets no cookie");
    assert_eq!(
        (unknown, &unknown_body),
        (wrong, &body),
        "an unknown user and a wrong password get the same answer, telling nothing of which was wrong"
    );

    let without_header = server
        .http
        .post(format!("{}/api/v1/web/session", server.url))
        .json(&json!({"user": "max", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        without_header.status(),
        StatusCode::FORBIDDEN,
        "a login without the app's own header (a cross-site form) is refused"
    );

    let (status, body, set_cookie) = web_login(&server, "max", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "the right password logs in: {body}");
    assert_eq!(body["user"]["id"], "max");
    assert!(
        body.get("token").is_none(),
        "the token never reaches the page's scripts: {body}"
    );
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(
            set_cookie.contains(attribute),
            "the session cookie has {attribute}: {set_cookie}"
        );
    }
    assert!(
        !set_cookie.contains("Secure"),
        "over plain HTTP the cookie cannot be Secure (it is over HTTPS): {set_cookie}"
    );
    let cookie = pair(&set_cookie);

    let (status, me) = get_with_cookie(&server, "/api/v1/web/session", &cookie).await;
    assert_eq!((status, &me["user"]["id"]), (StatusCode::OK, &json!("max")));
    let (status, sales) = get_with_cookie(
        &server,
        &format!("/api/v1/hq/sales?by=shop&shop={SHOP_A}"),
        &cookie,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the cookie reads the manager's own shop: {sales}"
    );
    let (status, refused) = get_with_cookie(
        &server,
        &format!("/api/v1/hq/sales?by=shop&shop={SHOP_B}"),
        &cookie,
    )
    .await;
    assert_eq!(
        (status, &refused["code"]),
        (StatusCode::FORBIDDEN, &json!("forbidden")),
        "a shop manager's browser gets 403 for another shop, as the API gives their token"
    );

    let logout = server
        .http
        .delete(format!("{}/api/v1/web/session", server.url))
        .header(COOKIE, &cookie)
        .header("x-pos-hq", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let cleared = logout.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        cleared.contains("Max-Age=0"),
        "logout clears the cookie: {cleared}"
    );
    let (status, _) = get_with_cookie(&server, "/api/v1/web/session", &cookie).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "after logout the old cookie is worthless: the session ended in the database"
    );
    server.stop().await;
}

async fn a_request_with_the_cookie_from_another_site_is_refused(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    with_passwords(&server).await;
    let (_, _, set_cookie) = web_login(&server, "ada", PASSWORD).await;
    let cookie = pair(&set_cookie);

    let cross_site = server
        .http
        .get(format!("{}/api/v1/hq/sales?by=shop", server.url))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(
        cross_site.status(),
        StatusCode::FORBIDDEN,
        "a read another site's page asks for is refused even with the cookie"
    );
    let no_header = server
        .http
        .post(format!(
            "{}/api/v1/hq/webhooks/dead-letters/retry",
            server.url
        ))
        .header(COOKIE, &cookie)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_header.status(),
        StatusCode::FORBIDDEN,
        "a state-changing request with the cookie but without the app's header is refused"
    );
    let logout_cross_site = server
        .http
        .delete(format!("{}/api/v1/web/session", server.url))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(logout_cross_site.status(), StatusCode::FORBIDDEN);
    let (status, _) = get_with_cookie(&server, "/api/v1/web/session", &cookie).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a refused cross-site logout ended nothing"
    );
    server.stop().await;
}

/// Reads server-sent events from `response` until one named `name` arrives; its data.
async fn next_event(response: &mut reqwest::Response, buffer: &mut String, name: &str) -> Value {
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut event = "message";
            let mut data = String::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    event = if value.trim() == name { name } else { "other" };
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.trim());
                }
            }
            if event == name {
                return serde_json::from_str(&data).unwrap();
            }
        }
        let chunk = response
            .chunk()
            .await
            .unwrap()
            .expect("the stream stays open");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

async fn an_upload_is_told_to_the_open_live_streams_of_its_shop_only(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    // The shop manager of shop A watches.
    let mut stream = server
        .http
        .get(format!("{}/api/v1/hq/live", server.url))
        .bearer_auth(&server.manager_token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut buffer = String::new();
    next_event(&mut stream, &mut buffer, "ready").await;

    let till_b = TestTill::new("B-1", 21, 3, 1, 5);
    let code_b = server.create_till(SHOP_B, "B-1").await;
    let token_b = server.enroll(&code_b, &till_b).await.token;
    for chains in till_b.batches(100) {
        server.upload(&token_b, "B-1", chains).await;
    }
    let till_a = TestTill::new("A-1", 22, 3, 1, 6);
    let code_a = server.create_till(SHOP_A, "A-1").await;
    let token_a = server.enroll(&code_a, &till_a).await.token;
    for chains in till_a.batches(100) {
        server.upload(&token_a, "A-1", chains).await;
    }
    let told = tokio::time::timeout(
        Duration::from_secs(5),
        next_event(&mut stream, &mut buffer, "sales"),
    )
    .await
    .expect("an upload of the manager's shop is told within 5 s");
    assert_eq!(
        told,
        json!({"shop": SHOP_A}),
        "the first change told is shop A's: shop B's upload is not told to shop A's manager"
    );

    // A resend stores nothing and tells nothing.
    for chains in till_a.batches(100) {
        server.upload(&token_a, "A-1", chains).await;
    }
    let quiet = tokio::time::timeout(
        Duration::from_millis(500),
        next_event(&mut stream, &mut buffer, "sales"),
    )
    .await;
    assert!(quiet.is_err(), "a resend (nothing new stored) is not told");
    drop(stream);
    server.stop().await;
}

async fn the_built_app_is_served_with_a_strict_content_security_policy(backend: Backend) {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>Siège</title>",
    )
    .unwrap();
    std::fs::create_dir(web.path().join("assets")).unwrap();
    std::fs::write(web.path().join("assets/app.js"), "console.log(1)").unwrap();
    let config = sync_server::ServerConfig {
        web: WebSettings {
            dir: Some(web.path().to_path_buf()),
            secure_cookies: false,
        },
        ..Default::default()
    };
    let Some(server) = Server::start_with(backend, config).await else {
        return;
    };
    for path in ["/hq/", "/hq/assets/app.js"] {
        let response = server
            .http
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path} is served");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(csp, CONTENT_SECURITY_POLICY, "{path} carries the policy");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "no inline script or style, no eval: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
    let page = server
        .http
        .get(format!("{}/hq/", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Siège"), "index.html is the app's page");
    let root = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/", server.url))
        .send()
        .await
        .unwrap();
    assert!(root.status().is_redirection());
    assert_eq!(root.headers()["location"], "/hq/", "/ leads to the app");
    let (status, _) = server.get("/api/v1/capabilities", None).await;
    assert_eq!(status, StatusCode::OK, "the API is served beside the app");
    server.stop().await;
}

/// Starts the `sync-server` binary serving `db` with `args`; it and the address it logs.
fn start_binary(db: &str, dir: &std::path::Path, args: &[&str]) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"));
    for (name, _) in std::env::vars() {
        if name.starts_with("SYNC_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .current_dir(dir)
        .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            line.split("address=")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_string)
        })
        .expect("the server logs the address it listens on");
    std::thread::spawn(move || lines.for_each(drop));
    (child, address)
}

/// `curl -sk -i` (a real HTTPS client; the test certificate is self-signed): the answer's
/// head and body.
fn curl(args: &[&str]) -> String {
    let output = std::process::Command::new("curl")
        .args(["-sk", "-i", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl runs (apt-get install curl)");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// One process: `sync-server serve --tls-cert --tls-key --web-dir` serves the app and the
/// API over HTTPS, and there the session cookie is `Secure`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_the_app_over_https_with_a_secure_session_cookie() {
    let server = Server::start(Backend::Sqlite).await.unwrap();
    with_passwords(&server).await;
    let files = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = files.path().join("hq.pem");
    let key = files.path().join("hq.key");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let web = files.path().join("web");
    std::fs::create_dir(&web).unwrap();
    std::fs::write(
        web.join("index.html"),
        "<!doctype html><title>Siège</title>",
    )
    .unwrap();
    let (mut child, address) = start_binary(
        &server.db_url,
        server.dir.path(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--web-dir",
            web.to_str().unwrap(),
        ],
    );
    let base = format!("https://{address}");
    let answers = blocking(move || {
        let page = curl(&[&format!("{base}/hq/")]);
        let login = curl(&[
            "-X",
            "POST",
            "-H",
            "x-pos-hq: 1",
            "-H",
            "content-type: application/json",
            "--data",
            &format!(r#"{{"user": "ada", "password": "{PASSWORD}"}}"#),
            &format!("{base}/api/v1/web/session"),
        ]);
        (page, login)
    })
    .await;
    let (page, login) = answers;
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("Siège"),
        "the binary serves the app from --web-dir: {page}"
    );
    assert!(
        page.to_lowercase().contains(
            &format!("content-security-policy: {CONTENT_SECURITY_POLICY}").to_lowercase()
        ),
        "with its policy: {page}"
    );
    let set_cookie = login
        .lines()
        .find(|l| l.to_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("the login sets the session cookie: {login}"));
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(
            set_cookie.contains(attribute),
            "over HTTPS the session cookie is {attribute}: {set_cookie}"
        );
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success(), "stops cleanly");
    server.stop().await;
}
