//! Interop: the signed file served as a static file by a real nginx (its own config in a temp
//! dir, loopback only, `etag on`) is fetched, verified and installed by the real client, and
//! the next request is a conditional one answered 304.
//!
//! Ignored by default because it needs the `nginx` binary; run it with
//! `delivery/scripts/nginx-interop.sh`, which installs nginx when missing.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use trackgate_delivery::http::UreqTransport;
use trackgate_delivery::*;

/// A free loopback port (released before nginx binds it; the race is harmless in a test).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .expect("nginx is installed (delivery/scripts/nginx-interop.sh installs it)")
}

fn write_config(root: &Path, port: u16) -> PathBuf {
    let root_text = root.display();
    let config = format!(
        r#"worker_processes 1;
daemon off;
user root;
error_log {root_text}/error.log;
pid {root_text}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log {root_text}/access.log;
    client_body_temp_path {root_text}/tmp/body;
    proxy_temp_path {root_text}/tmp/proxy;
    fastcgi_temp_path {root_text}/tmp/fastcgi;
    uwsgi_temp_path {root_text}/tmp/uwsgi;
    scgi_temp_path {root_text}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        etag on;
        location /v1/plans/ {{
            alias {root_text}/plans/;
            default_type application/vnd.trackgate.plan;
            add_header Cache-Control "max-age=900";
        }}
    }}
}}
"#
    );
    let path = root.join("nginx.conf");
    std::fs::write(&path, config).unwrap();
    path
}

/// nginx in the foreground, stopped (by its own pid) when dropped.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGQUIT: graceful stop of the master and its worker.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGQUIT) };
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "needs nginx; run delivery/scripts/nginx-interop.sh"]
fn plan_served_by_nginx_is_installed_then_answered_304() {
    let root = temp_dir("nginx");
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    std::fs::create_dir_all(root.join("plans/shop")).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    std::fs::write(root.join("plans/shop/prod"), envelope_at(4, now)).unwrap();
    let port = free_port();
    let config_path = write_config(&root, port);
    let child = Command::new(nginx_binary())
        .args(["-p", root.to_str().unwrap(), "-c", config_path.to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .expect("starts nginx");
    let _nginx = Nginx(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not start: {}",
            std::fs::read_to_string(root.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let clock = std::sync::Arc::new(trackgate_core::ManualClock::new(now * 1000));
    let url = format!("http://127.0.0.1:{port}/v1/plans/shop/prod");
    let mut delivery = start_with(config(&url), &FaultyStorage::default(), None, &clock);
    let transport = UreqTransport::new(Duration::from_secs(5));
    assert_eq!(delivery.fetch_if_due(&transport), Some(FetchOutcome::Installed { version: 4 }));
    assert_eq!(delivery.next_fetch_at() - now, 900, "nginx's Cache-Control max-age is honoured");
    clock.advance_nanos(900 * 1_000_000_000);
    assert_eq!(delivery.fetch_if_due(&transport), Some(FetchOutcome::Unchanged));
    // nginx writes the access log after it sent the reply, so the last line may lag the client.
    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = std::fs::read_to_string(root.join("access.log")).unwrap_or_default();
        if log.lines().count() >= 2 || Instant::now() >= deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let statuses: Vec<&str> =
        log.lines().filter_map(|line| line.split('"').nth(2)?.split_whitespace().next()).collect();
    assert_eq!(statuses, ["200", "304"], "{log}");
    assert!(runs_version(&delivery, 4));
}
