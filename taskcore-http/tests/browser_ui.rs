//! The web UI in a real browser: Debian's headless Chromium driven through ChromeDriver
//! (WebDriver, with fantoccini) against the real `taskcore-server` binary.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`apt-get install chromium
//! chromium-driver`; `./test` installs them). Without them the test fails and says so.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use support::{ServerProcess, free_port};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

struct Driver {
    _process: tokio::process::Child,
    url: String,
}

async fn chromedriver() -> Driver {
    for tool in [CHROMEDRIVER, CHROMIUM] {
        assert!(
            std::path::Path::new(tool).exists(),
            "{tool} is missing: run ./test at the repository root (it installs it), or `apt-get install chromium chromium-driver`"
        );
    }
    let port = free_port();
    let process = tokio::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(format!("{url}/status")).send().await.is_ok() {
            return Driver { _process: process, url };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not start on {url}");
}

/// A browser's private profile directory. When dropped — also when the test fails before it
/// could close its session — it ends the Chromium processes started with this profile (found by
/// their command line, killed by PID) and removes the directory.
struct Profile(std::path::PathBuf);

impl Drop for Profile {
    fn drop(&mut self) {
        let marker = format!("--user-data-dir={}", self.0.display());
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).split('\0').any(|arg| arg == marker) {
                let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn browser(driver: &Driver, width: u32) -> (Client, Profile) {
    let profile = tempfile::tempdir().unwrap().keep();
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", &format!("--window-size={width},1000"),
                &format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let capabilities = capabilities.as_object().unwrap().clone();
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("start a Chromium session through chromedriver");
    (client, Profile(profile))
}

/// Polls `check` until it is true or `within` passes.
async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < within {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not true within {within:?}");
}

async fn text(client: &Client, css: &str) -> String {
    match client.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn column_titles(client: &Client, column: &str) -> Vec<String> {
    let mut titles = Vec::new();
    let css = format!("[data-column=\"{column}\"] .task-title");
    for element in client.find_all(Locator::Css(&css)).await.unwrap_or_default() {
        titles.push(element.text().await.unwrap_or_default());
    }
    titles
}

fn card_xpath(title: &str) -> String {
    format!("//li[contains(@class,'task')][.//h4[normalize-space()='{title}']]")
}

/// Clicks a button of the card titled `title`. The board re-renders when live changes
/// arrive, so a card found a moment ago may be replaced: find and click again until it sticks.
async fn click_in_card(client: &Client, title: &str, button: &str) {
    let started = Instant::now();
    loop {
        let clicked = async {
            let card = client.find(Locator::XPath(&card_xpath(title))).await?;
            card.find(Locator::Css(button)).await?.click().await
        };
        match clicked.await {
            Ok(()) => return,
            Err(error) if started.elapsed() > Duration::from_secs(5) => {
                panic!("cannot click {button} of {title}: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn add_task(client: &Client, title: &str, priority: &str, due: Option<&str>) {
    client.find(Locator::Id("add-task")).await.unwrap().click().await.unwrap();
    let dialog_title = client.wait().for_element(Locator::Id("task-title")).await.unwrap();
    dialog_title.send_keys(title).await.unwrap();
    client.find(Locator::Id("task-priority")).await.unwrap().select_by_value(priority).await.unwrap();
    if let Some(due) = due {
        client.execute("document.getElementById('task-due').value = arguments[0];", vec![json!(due)]).await.unwrap();
    }
    client.find(Locator::Id("save-task")).await.unwrap().click().await.unwrap();
    eventually(Duration::from_secs(5), &format!("task {title} shows"), || async {
        client.find(Locator::XPath(&card_xpath(title))).await.is_ok()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_is_worked_through_the_browser_and_stays_live_between_two_people() {
    let server = ServerProcess::start("memory:", &[]).await;
    let driver = chromedriver().await;
    let (alice, _alice_profile) = browser(&driver, 1400).await;

    // Home: create a room.
    alice.goto(&format!("{}/", server.base)).await.unwrap();
    alice.find(Locator::Id("create-name")).await.unwrap().send_keys("Alice").await.unwrap();
    alice.find(Locator::Css("#create-form button[type=submit]")).await.unwrap().click().await.unwrap();
    eventually(Duration::from_secs(5), "room page opens", || async {
        text(&alice, "#room-code").await.chars().all(|c| c.is_ascii_alphanumeric())
            && text(&alice, "#room-code").await.len() == 6
    })
    .await;
    let code = text(&alice, "#room-code").await;
    assert!(alice.current_url().await.unwrap().as_str().contains(&format!("room={code}")), "room is in the URL");
    assert_eq!(text(&alice, "#members").await, "Alice");

    // Three tasks of different priorities; one overdue.
    add_task(&alice, "Ship the release", "high", Some("2001-01-01T09:00")).await;
    add_task(&alice, "Write release notes", "medium", None).await;
    add_task(&alice, "Tidy the backlog", "low", None).await;
    eventually(Duration::from_secs(5), "each task sits in its priority's column", || async {
        column_titles(&alice, "high").await == ["Ship the release"]
            && column_titles(&alice, "medium").await == ["Write release notes"]
            && column_titles(&alice, "low").await == ["Tidy the backlog"]
    })
    .await;
    eventually(Duration::from_secs(5), "the overdue task says so", || async {
        text(&alice, "[data-task-id=\"1\"] .due").await.starts_with("overdue by")
    })
    .await;

    // Complete one, edit one, delete one.
    click_in_card(&alice, "Write release notes", ".toggle").await;
    eventually(Duration::from_secs(5), "completed task moves to the completed column", || async {
        column_titles(&alice, "completed").await == ["Write release notes"]
    })
    .await;
    click_in_card(&alice, "Tidy the backlog", ".edit").await;
    let title = alice.wait().for_element(Locator::Id("task-title")).await.unwrap();
    title.clear().await.unwrap();
    title.send_keys("Tidy the backlog today").await.unwrap();
    alice.find(Locator::Id("save-task")).await.unwrap().click().await.unwrap();
    eventually(Duration::from_secs(5), "edited title shows", || async {
        column_titles(&alice, "low").await == ["Tidy the backlog today"]
    })
    .await;
    click_in_card(&alice, "Ship the release", ".delete").await;
    eventually(Duration::from_secs(5), "deleted task disappears", || async {
        column_titles(&alice, "high").await.is_empty()
    })
    .await;

    // Stats follow.
    eventually(Duration::from_secs(5), "stats show 2 tasks, 1 done, 50%", || async {
        text(&alice, "[data-stat=total_tasks]").await == "2"
            && text(&alice, "[data-stat=completed_tasks]").await == "1"
            && text(&alice, "[data-stat=completion_rate]").await == "50%"
    })
    .await;

    // Bad input is explained and the form keeps what was typed.
    alice.find(Locator::Id("add-task")).await.unwrap().click().await.unwrap();
    alice.wait().for_element(Locator::Id("task-title")).await.unwrap().send_keys("Keep this text").await.unwrap();
    alice.find(Locator::Id("task-tags")).await.unwrap().send_keys("two words").await.unwrap();
    alice.find(Locator::Id("save-task")).await.unwrap().click().await.unwrap();
    eventually(Duration::from_secs(5), "the error is shown in the dialog", || async {
        text(&alice, "#form-error").await.contains("tag")
    })
    .await;
    let kept = alice.find(Locator::Id("task-title")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("Keep this text"), "the form keeps its input");
    alice.find(Locator::Id("cancel-task")).await.unwrap().click().await.unwrap();

    // A second person in the same room sees changes live, and the other way round.
    let (bob, _bob_profile) = browser(&driver, 420).await;
    bob.goto(&format!("{}/tasks.html?room={}&name=Bob", server.base, code.to_lowercase())).await.unwrap();
    eventually(Duration::from_secs(5), "Bob's page loads the room", || async {
        column_titles(&bob, "completed").await == ["Write release notes"]
    })
    .await;
    eventually(Duration::from_secs(2), "Alice sees Bob join", || async {
        text(&alice, "#members").await.contains("Bob")
    })
    .await;
    eventually(Duration::from_secs(5), "Bob's live stream is connected", || async {
        text(&bob, "#live").await.contains("live")
    })
    .await;
    add_task(&alice, "Book the venue", "high", None).await;
    eventually(Duration::from_secs(2), "Bob sees Alice's new task within 2 s", || async {
        column_titles(&bob, "high").await == ["Book the venue"]
    })
    .await;
    click_in_card(&bob, "Book the venue", ".toggle").await;
    eventually(Duration::from_secs(2), "Alice sees Bob complete it within 2 s", || async {
        column_titles(&alice, "completed").await.contains(&"Book the venue".to_owned())
    })
    .await;

    // A fuller board for the picture, created through the API: the page shows it live.
    let api = server.target();
    let soon = taskcore::format_timestamp(taskcore::Clock::now(&taskcore::SystemClock) + time::Duration::days(2));
    let tomorrow = taskcore::format_timestamp(taskcore::Clock::now(&taskcore::SystemClock) + time::Duration::hours(20));
    api.task(
        &code,
        json!({ "title": "Prepare the demo", "priority": "high", "description": "Slides and a live run-through",
        "due_date": soon, "tags": ["launch"], "assignee": "bob" }),
    )
    .await;
    api.task(
        &code,
        json!({ "title": "Review the API changes", "priority": "medium", "due_date": tomorrow,
        "tags": ["review", "api"], "assignee": "alice" }),
    )
    .await;
    eventually(Duration::from_secs(2), "tasks made elsewhere appear live", || async {
        column_titles(&alice, "high").await == ["Prepare the demo"]
    })
    .await;

    // The export links download the room: CSV for a spreadsheet, JSON to keep. Fetched from the
    // page itself, as the browser's download would.
    for (link, expected) in [("export-csv", "id,title,description,"), ("export-json", "{\"code\":")] {
        let href = alice.find(Locator::Id(link)).await.unwrap().attr("href").await.unwrap().unwrap();
        assert!(href.to_uppercase().contains(&format!("/ROOMS/{code}/EXPORT?FORMAT=")), "{href}");
        let fetched = alice
            .execute(
                "return fetch(arguments[0]).then(async r => [r.status, r.headers.get('content-disposition'), await r.text()]);",
                vec![json!(href)],
            )
            .await
            .unwrap();
        assert_eq!(fetched[0], 200, "{fetched}");
        assert!(fetched[1].as_str().unwrap().starts_with("attachment; filename="), "{fetched}");
        let body = fetched[2].as_str().unwrap();
        assert!(body.starts_with(expected) && body.contains("Prepare the demo"), "{body}");
    }

    // Reloading an unchanged board revalidates: the browser sends its ETags and the server
    // answers 304 instead of sending the room again.
    let not_modified = || async {
        let metrics = reqwest::get(format!("{}/metrics", server.base)).await.unwrap().text().await.unwrap();
        metrics
            .lines()
            .filter(|l| l.starts_with("http_requests_total") && l.contains("status=\"304\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let before = not_modified().await;
    bob.refresh().await.unwrap();
    eventually(Duration::from_secs(5), "the reloaded board revalidates with 304s", || async {
        not_modified().await > before
    })
    .await;
    eventually(Duration::from_secs(5), "and still shows the room", || async {
        column_titles(&bob, "high").await == ["Prepare the demo"]
    })
    .await;

    // A picture of the board for the README.
    let png = alice.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let target = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tasks-page.png");
    std::fs::write(&target, &png).unwrap();
    if let Ok(path) = std::env::var("TASKCORE_SCREENSHOT") {
        std::fs::write(path, &png).unwrap();
    }

    bob.close().await.unwrap();
    alice.close().await.unwrap();
}
