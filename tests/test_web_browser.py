"""The web page in a real browser: Debian's headless chromium driven through its chromidriver (Selenium).

Skipped, with the reason, where chromium or chromedriver is not installed (`.ci/run` installs them:
`apt-get install -y chromium chromium-driver fonts-noto-core`).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra (pip install 'sanad-qa[serve]') is not installed")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (the dev extra) is not installed")

import uvicorn  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from qa.config import Settings  # noqa: E402
from qa.pipeline import Pipeline  # noqa: E402
from qa.render import confidence_word  # noqa: E402
from tests.support.rule_reader import HeuristicReader  # noqa: E402
from web.app import create_app  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SPOKESMAN_Q = "من هو المتحدث باسم وزارة الخارجية الأمريكية؟"
NO_ANSWER_Q = "ما هي عاصمة أستراليا؟"
# Where the screenshot is kept (SANAD_SCREENSHOT_DIR to keep it past the test run).
SCREENSHOT_DIR = os.environ.get("SANAD_SCREENSHOT_DIR")

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="chromium and chromedriver not installed (apt-get install -y chromium chromium-driver)",
)


@pytest.fixture(scope="module")
def server_url(seed_index, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`sanad serve`'s app on a free loopback port, in a thread; the fixed rule reader (these tests check
    the page; tests/test_web.py checks the default reader end to end)."""
    with running(Settings(corpus=SEEDS, data_dir=tmp_path_factory.mktemp("data")), seed_index) as url:
        yield url


@contextmanager
def running(settings: Settings, index) -> Iterator[str]:
    app = create_app(settings, Pipeline(index, HeuristicReader(), no_answer_threshold=0.2))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:  # a local start-up: the app is already loaded
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    profile = tempfile.mkdtemp(prefix="sanad-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--lang=ar", "--window-size=1000,1300",
        f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def ask(driver: webdriver.Chrome, url: str, question: str) -> None:
    """Type `question` into the page (opened once) and wait for its answer, or its error, to show."""
    if not driver.current_url.startswith(url):
        driver.get(url + "/")
    box = driver.find_element(By.ID, "question")
    box.clear()
    box.send_keys(question)
    driver.find_element(By.ID, "ask").click()  # the page disables the button until the reply has been shown
    WebDriverWait(driver, 60).until(lambda d: d.find_element(By.ID, "ask").is_enabled())


def test_spokesman_answer_is_marked_in_its_passage_right_to_left(browser, server_url, tmp_path):
    ask(browser, server_url, SPOKESMAN_Q)
    assert browser.execute_script("return getComputedStyle(document.body).direction") == "rtl"
    assert browser.execute_script("return document.documentElement.lang") == "ar"
    assert "ماثيو ميلر" in browser.find_element(By.ID, "answer").text
    passage = browser.find_element(By.CSS_SELECTOR, "#passages li.passage blockquote")
    mark = passage.find_element(By.TAG_NAME, "mark")
    assert "ماثيو ميلر" in mark.text and mark.text in passage.text and len(passage.text) > len(mark.text)
    heading = browser.find_element(By.CSS_SELECTOR, "#passages li.passage h3").text
    confidence = browser.find_element(By.ID, "confidence").text  # "الثقة: عالية (0.93)"
    word, score = re.fullmatch(r"الثقة: (\S+) \(([0-9.]+)\)", confidence).groups()
    assert heading and word == confidence_word(float(score), 0.2)  # the terminal's and the bot's bands
    folder = Path(SCREENSHOT_DIR) if SCREENSHOT_DIR else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "sanad-serve-page.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000

    shown = len(browser.find_elements(By.CSS_SELECTOR, "#passages li.passage"))
    browser.find_element(By.ID, "more").click()
    WebDriverWait(browser, 30).until(lambda d: not d.find_element(By.ID, "more").is_displayed())
    assert len(browser.find_elements(By.CSS_SELECTOR, "#passages li.passage")) > shown

    browser.find_element(By.CSS_SELECTOR, "button.vote[data-vote='up']").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "thanks").text)
    assert "شكر" in browser.find_element(By.ID, "thanks").text


def test_no_answer_shows_the_closest_passages(browser, server_url):
    ask(browser, server_url, NO_ANSWER_Q)
    assert browser.find_element(By.ID, "not-found").is_displayed()
    assert not browser.find_element(By.ID, "found").is_displayed()
    passages = browser.find_elements(By.CSS_SELECTOR, "#passages li.passage blockquote")
    assert passages and all(p.text for p in passages)
    assert not browser.find_elements(By.CSS_SELECTOR, "#passages mark")  # nothing to mark: no answer


def test_html_in_a_question_shows_as_text_and_never_runs(browser, server_url):
    attack = '<img src=x onerror="window.pwned=1"><script>window.pwned=1</script><b>عريض</b> ' + SPOKESMAN_Q
    ask(browser, server_url, attack)
    assert "<script>window.pwned=1</script>" in browser.find_element(By.ID, "asked").text
    assert browser.execute_script("return window.pwned") is None
    assert not browser.find_elements(By.CSS_SELECTOR, "#result img, #result script, #result b")


def test_an_unusable_question_shows_the_arabic_message(browser, server_url):
    ask(browser, server_url, "؟؟؟ !!")
    status = browser.find_element(By.ID, "status")
    assert status.get_attribute("class") == "error" and "اكتب سؤالك" in status.text


def test_a_server_with_a_token_asks_for_it_once_and_then_answers(browser, seed_index, tmp_path):
    from selenium.webdriver.support import expected_conditions

    settings = Settings(corpus=SEEDS, data_dir=tmp_path / "data", api_token="s3cret")
    with running(settings, seed_index) as url:
        browser.get(url + "/")
        browser.find_element(By.ID, "question").send_keys(SPOKESMAN_Q)
        browser.find_element(By.ID, "ask").click()
        prompt = WebDriverWait(browser, 30).until(expected_conditions.alert_is_present())
        assert "رمز" in prompt.text
        prompt.send_keys("s3cret")
        prompt.accept()
        WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "ask").is_enabled())
        assert "ماثيو ميلر" in browser.find_element(By.ID, "answer").text
        ask(browser, url, NO_ANSWER_Q)  # the token is kept for the tab: no second prompt
        assert browser.find_element(By.ID, "not-found").is_displayed()
