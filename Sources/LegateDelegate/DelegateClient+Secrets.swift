import LegateNet
import LegateSecrets
import LegateWire

// MARK: - Secrets of task attempts: opened for the attempt only, reported, masked, wiped.

extension DelegateClient {
    /// Opens the assignment's secrets, reports each opening (or the refusal) to the manager, and starts the attempt
    /// with the values in its environment and a reporter that masks them; refuses the attempt when one does not
    /// open (a FAILED result naming the secret, never the value).
    func assignWithSecrets(_ assignment: TaskAssignment, reporter: any TaskReporting, connection: Connection)
        -> TaskRunner.Decision
    {
        let result = TaskSecretOpener.open(
            assignment, deviceKey: self.configuration.deviceKey, delegateID: self.delegateID ?? "",
            cache: self.ringKeys)
        switch result {
        case .failure(let refusal):
            if let secret = refusal.secret {
                self.reportSecretOpened(assignment, secret: secret, error: refusal.reason, on: connection)
            }
            var failed = TaskResult(taskID: assignment.taskID, attempt: assignment.attempt)
            failed.outcome = .failed
            failed.exitCode = -1
            failed.error = refusal.message
            self.sendTaskCall(failed, on: connection)
            return .refused(reason: refusal.message)
        case .success(var opened):
            defer { for index in opened.indices { TaskSecretOpener.wipe(&opened[index].value) } }
            for secret in assignment.secrets { self.reportSecretOpened(assignment, secret: secret, error: nil, on: connection) }
            let masking: MaskingTaskReporter
            do throws(SecretsError) {
                masking = try MaskingTaskReporter(wrapping: reporter, values: opened.map(\.value))
            } catch {
                var failed = TaskResult(taskID: assignment.taskID, attempt: assignment.attempt)
                failed.outcome = .failed
                failed.exitCode = -1
                failed.error = "refused to run with a secret that cannot be masked: \(error)"
                self.sendTaskCall(failed, on: connection)
                return .refused(reason: failed.error)
            }
            var environment: [String: String] = [:]
            for item in opened {
                // An environment variable is NUL-terminated text: a value that is not would reach the task changed.
                guard !item.value.contains(0), let text = String(bytes: item.value, encoding: .utf8) else {
                    var failed = TaskResult(taskID: assignment.taskID, attempt: assignment.attempt)
                    failed.outcome = .failed
                    failed.exitCode = -1
                    failed.error =
                        "secret for \(item.envName) is not UTF-8 text without NUL bytes, which an environment "
                        + "variable needs; the task did not run"
                    self.sendTaskCall(failed, on: connection)
                    return .refused(reason: failed.error)
                }
                environment[item.envName] = text
            }
            return self.tasks.assign(assignment, reporter: masking, secretEnvironment: environment)
        }
    }

    /// Sends a SecretOpened call (not awaited: the manager audits it).
    private func reportSecretOpened(
        _ assignment: TaskAssignment, secret: TaskSecret, error: String?, on connection: Connection
    ) {
        guard connection === self.connection, let streamID = self.machine.allocateCallStreamID() else { return }
        var report = SecretOpened()
        report.taskID = assignment.taskID
        report.attempt = assignment.attempt
        report.secretID = secret.secretID
        report.version = secret.version
        report.opened = error == nil
        report.error = error ?? ""
        self.send(.request, method: CallMethod.secretOpened.rawValue, streamID: streamID, message: report)
    }

    /// SELF_DESTRUCT: forget every opened ring key and delete the device key file.
    func destroySecretKeys() {
        self.ringKeys.clear()
        guard let directory = self.configuration.stateDirectory else { return }
        try? DeviceKeyFile.delete(in: directory)
    }
}
