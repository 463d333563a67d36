"""The console scenarios, in the order a person would meet them; each waits on page state with a bound."""

import os
import re
from urllib.parse import urlencode

from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException, NoSuchElementException,
                                        StaleElementReferenceException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from legate_processes import Deadline, Delegate, Manager

WAIT = 20  # seconds any one page state may take to appear
XSS_NAME = "<script>alert(1)</script>"


class Scenarios:
    def __init__(self, bin_dir, work_dir, screenshots):
        self.work_dir = work_dir
        self.screenshots = screenshots
        self.current = "starting the manager"
        self.delegates = []
        self.manager = Manager(bin_dir, work_dir)
        self.base = self.manager.console
        self.current = "starting chromium"
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1000",
                         "--disable-gpu", "--no-first-run", "--disable-extensions"):
            options.add_argument(argument)
        options.accept_insecure_certs = True  # the manager's self-generated development certificate
        self.driver = webdriver.Chrome(options=options, service=Service(executable_path="/usr/bin/chromedriver"))
        self.driver.set_page_load_timeout(WAIT)
        self.driver.set_script_timeout(WAIT)

    # MARK: - Helpers

    def open(self, path):
        self.driver.get(self.base + path)

    def heading(self):
        return self.driver.find_element(By.TAG_NAME, "h1").text

    def until(self, check, what, reload=None, seconds=WAIT):
        """Polls `check` (reloading `reload` first each time) until it is true; bounded."""
        def attempt():
            if reload:
                self.open(reload)
            try:
                return check()
            except (NoSuchElementException, StaleElementReferenceException):
                # The page is being replaced (a form was sent): look again at the next one.
                return None
        return Deadline(seconds, what).poll(attempt, interval=0.2)

    def shot(self, name):
        self.driver.save_screenshot(os.path.join(self.screenshots, name))

    def save_failure_screenshot(self):
        try:
            self.shot("failure.png")
        except Exception:
            pass

    def delegate_row(self, name):
        for row in self.driver.find_elements(By.CSS_SELECTOR, "#delegates tbody tr"):
            if row.find_element(By.CSS_SELECTOR, ".delegate-name").text == name:
                return row
        return None

    def delegate_state(self, name):
        row = self.delegate_row(name)
        return row.get_attribute("data-state") if row else None

    def token_row(self, name):
        for row in self.driver.find_elements(By.CSS_SELECTOR, "#tokens tbody tr"):
            if row.find_elements(By.TAG_NAME, "td")[0].text == name:
                return row
        return None

    def csrf(self):
        return self.driver.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")

    def post_status(self, path, fields):
        """POSTs a form from the page (same origin, the session cookie sent); returns the HTTP status."""
        script = """
            const done = arguments[arguments.length - 1];
            fetch(arguments[0], {method: "POST", credentials: "same-origin", redirect: "manual",
                headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: arguments[1]})
              .then(function (response) { done(response.status); }, function (error) { done("error " + error); });
        """
        return self.driver.execute_async_script(script, path, urlencode(fields))

    def sign_in(self, key):
        self.open("/console")
        self.until(lambda: self.heading() == "Sign in", "the sign-in page")
        field = self.driver.find_element(By.ID, "api-key")
        field.clear()
        field.send_keys(key)
        self.driver.find_element(By.ID, "sign-in").click()
        self.until(lambda: self.heading() == "Tokens", "the Tokens page after sign-in")

    def step(self, name, body):
        self.current = name
        body()
        print(f"PASS {name}", flush=True)

    # MARK: - Scenarios

    def run_all(self):
        self.step("sign in", self.scenario_sign_in)
        self.step("create a token and read its value once", self.scenario_new_token)
        self.step("a delegate named <script> shows as text", self.scenario_escaping)
        self.step("profiles: create one that requires approval", self.scenario_profile)
        self.step("approve a pending delegate and see it active", self.scenario_approve)
        self.step("reject a pending delegate with a reason", self.scenario_reject)
        self.step("follow and cancel a running task; an echo task's output", self.scenario_tasks)
        self.step("revoke with the impact preview; the delegate self-destructs", self.scenario_revoke)
        self.step("audit filtered by action", self.scenario_audit)
        self.step("a POST without the CSRF token is refused", self.scenario_csrf)
        self.step("a session cookie is refused after sign-out", self.scenario_sign_out)
        self.step("a view-only key sees no edit buttons and cannot revoke", self.scenario_view_only)

    def scenario_sign_in(self):
        self.open("/console/tokens")
        self.until(lambda: self.heading() == "Sign in", "the redirect to sign-in")
        self.shot("01-sign-in.png")
        self.sign_in(self.manager.admin_key)
        cookie = self.driver.get_cookie("legate_console")
        assert cookie and cookie["httpOnly"] and cookie["secure"], f"session cookie flags: {cookie}"
        assert cookie.get("sameSite") == "Strict", f"session cookie SameSite: {cookie}"

    def scenario_new_token(self):
        self.driver.find_element(By.ID, "token-name").send_keys("browser-ci")
        self.driver.find_element(By.ID, "create-token").click()
        value_element = self.until(lambda: self.driver.find_element(By.ID, "token-value"), "the new token value")
        self.token_value = value_element.text
        assert self.token_value.startswith("lgt_"), "the page shows a token value"
        copy = self.driver.find_element(By.CSS_SELECTOR, "button[data-copy-target=token-value]")
        assert copy.is_displayed(), "the script shows the Copy button"
        # The committed screenshot must not carry even a throwaway secret.
        self.driver.execute_script(
            "document.getElementById('token-value').textContent = 'lgt_... (shown once, hidden here)';")
        self.shot("02-new-token.png")
        self.open("/console/tokens")
        assert self.token_value not in self.driver.page_source, "the value is shown once only"
        assert not self.driver.find_elements(By.ID, "token-value")
        row = self.token_row("browser-ci")
        assert row is not None, "the new token is listed"
        self.token_id = row.get_attribute("data-token-id")

    def scenario_escaping(self):
        self.worker = Delegate(self.manager, self.work_dir, "build-box-1", self.token_value)
        self.xss = Delegate(self.manager, self.work_dir, XSS_NAME, self.manager.default_token)
        self.delegates += [self.worker, self.xss]
        self.until(lambda: self.delegate_state("build-box-1") == "active" and self.delegate_state(XSS_NAME) == "active",
                   "both delegates active", reload="/console/delegates")
        assert self.delegate_row(XSS_NAME) is not None, "the name reads back as the literal text"
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in self.driver.page_source
        try:
            alert = self.driver.switch_to.alert
            raise AssertionError(f"a script ran: alert {alert.text}")
        except NoAlertPresentException:
            pass
        self.worker_id = self.delegate_row("build-box-1").get_attribute("data-delegate-id")

    def scenario_profile(self):
        self.open("/console/profiles")
        self.driver.find_element(By.ID, "profile-name").send_keys("gated")
        self.driver.find_element(By.ID, "profile-approval").click()
        self.driver.find_element(By.ID, "profile-rules").send_keys("cidr=10.0.0.0/8&host=ci-*")
        self.driver.find_element(By.ID, "profile-script").send_keys("echo approved")
        self.driver.find_element(By.ID, "save-profile").click()
        self.until(lambda: self.driver.find_element(By.CSS_SELECTOR, "tr[data-profile=gated]"), "the new profile")
        self.shot("04-profiles.png")
        self.approved = Delegate(self.manager, self.work_dir, "pending-approve", self.manager.default_token, "gated")
        self.rejected = Delegate(self.manager, self.work_dir, "pending-reject", self.manager.default_token, "gated")
        self.delegates += [self.approved, self.rejected]
        self.until(lambda: self.delegate_state("pending-approve") == "pending"
                   and self.delegate_state("pending-reject") == "pending",
                   "two pending delegates", reload="/console/delegates?state=pending")
        self.shot("05-pending-approval.png")

    def scenario_approve(self):
        row = self.delegate_row("pending-approve")
        row.find_element(By.XPATH, ".//button[normalize-space()='Approve']").click()
        self.until(lambda: self.driver.find_element(By.ID, "flash").text.startswith("Approved 1"), "the decision")
        self.until(lambda: self.delegate_state("pending-approve") == "active", "the approved delegate active",
                   reload="/console/delegates")

    def scenario_reject(self):
        self.open("/console/delegates?state=pending")
        row = self.delegate_row("pending-reject")
        row.find_element(By.CSS_SELECTOR, "input[name=reason]").send_keys("unknown host")
        row.find_element(By.XPATH, ".//button[normalize-space()='Reject']").click()
        self.until(lambda: self.delegate_state("pending-reject") == "rejected", "the rejected delegate",
                   reload="/console/delegates")
        reason = self.delegate_row("pending-reject").find_element(By.CSS_SELECTOR, ".decision-reason").text
        assert reason == "unknown host", f"the reason is shown: {reason}"
        self.rejected.wait_exit(WAIT)
        self.shot("03-delegates.png")

    def submit_task(self, kind, payload):
        self.open("/console/tasks")
        Select(self.driver.find_element(By.ID, "task-type")).select_by_value(kind)
        self.driver.find_element(By.ID, "task-payload").send_keys(payload)
        self.driver.find_element(By.ID, "task-target").send_keys(self.worker_id)
        self.driver.find_element(By.ID, "submit-task-button").click()
        self.until(lambda: self.heading() == "Task", "the task page")

    def task_state(self):
        return self.driver.find_element(By.ID, "task-state").text

    def scenario_tasks(self):
        self.submit_task("shell", '{"command": "/bin/sh", "arguments": ["-c", "echo started; sleep 30"], '
                                  '"timeoutMs": 60000}')
        # No reload: the page's script follows the task while it runs.
        self.until(lambda: self.task_state() == "running", "the task running (followed by the script)")
        self.shot("07-task-running.png")
        self.driver.find_element(By.XPATH, "//button[normalize-space()='Cancel task']").click()
        self.until(lambda: self.task_state() == "cancelled", "the task cancelled")
        self.submit_task("echo", "hello from the console")
        self.until(lambda: self.task_state() == "succeeded", "the echo task succeeded")
        self.until(lambda: "hello from the console" in self.driver.find_element(By.ID, "task-output").text,
                   "the echo output")
        self.open("/console/tasks")
        states = [row.find_element(By.CSS_SELECTOR, ".badge").text
                  for row in self.driver.find_elements(By.CSS_SELECTOR, "#tasks tbody tr")]
        assert sorted(states) == ["cancelled", "succeeded"], f"task list states: {states}"
        self.shot("06-tasks.png")

    def scenario_revoke(self):
        self.open("/console/tokens")
        self.token_row("browser-ci").find_element(By.XPATH, ".//button[normalize-space()='Revoke']").click()
        connected = self.until(lambda: self.driver.find_element(By.ID, "preview-connected").text, "the impact")
        assert connected == "1", f"the preview counts the connected delegate: {connected}"
        assert self.worker.process.poll() is None, "the dry run changes nothing"
        self.shot("08-revoke-preview.png")
        self.driver.find_element(By.XPATH, "//button[normalize-space()='Revoke now']").click()
        self.until(lambda: self.driver.find_element(By.ID, "revoke-result"), "the revoke result")
        counts = {name: self.driver.find_element(By.ID, f"result-{name}").text
                  for name in ("connected", "told", "acknowledged", "not-reached")}
        assert counts["connected"] == "1" and counts["told"] == "1", counts
        # Acknowledged within the manager's deadline, or (on a loaded machine) counted as not reached: never lost.
        assert int(counts["acknowledged"]) + int(counts["not-reached"]) == 1, counts
        status = self.worker.wait_exit(WAIT)
        assert status == 3, f"the delegate self-destructs (exit 3), got {status}"
        self.until(lambda: self.delegate_state("build-box-1") == "destroyed", "the delegate destroyed",
                   reload="/console/delegates")
        self.open("/console/tokens")
        self.shot("09-tokens.png")

    def scenario_audit(self):
        self.open("/console/audit?action=" + "token.%2A")
        actions = {cell.text for cell in self.driver.find_elements(By.CSS_SELECTOR, "#audit tbody td:nth-child(3)")}
        assert "token.revoke" in actions and "token.create" in actions, f"audit actions: {actions}"
        assert all(action.startswith("token.") for action in actions), actions
        self.shot("10-audit.png")

    def scenario_csrf(self):
        self.open("/console/tokens")
        status = self.post_status("/console/tokens/create", {"name": "no-csrf"})
        assert status == 403, f"a POST without the CSRF token: {status}"
        status = self.post_status("/console/tokens/create", {"name": "bad-csrf", "csrf": "0" * 64})
        assert status == 403, f"a POST with a wrong CSRF token: {status}"
        self.open("/console/tokens")
        assert self.token_row("no-csrf") is None and self.token_row("bad-csrf") is None, "nothing was created"

    def scenario_sign_out(self):
        self.open("/console/tokens")
        cookie = self.driver.get_cookie("legate_console")
        csrf = self.csrf()
        self.driver.find_element(By.ID, "sign-out").click()
        self.until(lambda: self.heading() == "Sign in", "the sign-in page after sign-out")
        self.driver.add_cookie({"name": "legate_console", "value": cookie["value"], "path": "/", "secure": True,
                                "httpOnly": True, "sameSite": "Strict"})
        self.open("/console/tokens")
        assert self.heading() == "Sign in", "the old cookie no longer opens a page"
        status = self.post_status("/console/tokens/create", {"name": "after-sign-out", "csrf": csrf})
        assert status == 403, f"a POST with the signed-out cookie: {status}"
        self.driver.delete_all_cookies()

    def scenario_view_only(self):
        output = self.manager.legatectl("admin-key", "create", "--name", "viewer", "--permissions",
                                        "delegate:view,task:view")
        key = re.search(r"lak_\S+", output).group(0)
        self.sign_in(key)
        assert not self.driver.find_elements(By.ID, "new-token-form"), "no New Token form"
        buttons = [button.text for button in self.driver.find_elements(By.CSS_SELECTOR, "#tokens button")]
        assert buttons == [], f"no edit buttons on Tokens: {buttons}"
        self.open("/console/delegates")
        buttons = [button.text for button in self.driver.find_elements(By.CSS_SELECTOR, "#delegates button")]
        assert buttons == [], f"no edit buttons on Delegates: {buttons}"
        self.open("/console/tokens")
        default = self.token_row("default").get_attribute("data-token-id")
        status = self.post_status("/console/tokens/revoke", {"id": default, "confirm": "1", "csrf": self.csrf()})
        assert status == 403, f"a view-only key's revoke: {status}"
        self.open("/console/tokens")
        assert self.token_row("default").find_element(By.CSS_SELECTOR, ".badge").text == "active"
        assert self.xss.process.poll() is None, "no delegate was told anything"
        self.shot("11-view-only.png")

    def close(self):
        try:
            self.driver.quit()
        except Exception:
            pass
        for delegate in self.delegates:
            delegate.stop()
        self.manager.stop()
