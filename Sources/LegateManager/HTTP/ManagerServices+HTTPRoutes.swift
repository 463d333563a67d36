import LegateHTTP

extension ManagerServices {
    /// The routes of the HTTP endpoint: `/metrics`, `/livez`, `/readyz`, the web console under `/console` and an
    /// index at `/`.
    func httpRouter(exposition: MetricsExposition, readiness: Readiness) -> HTTPRouter {
        var router = HTTPRouter()
        ConsoleRouter(services: self).register(into: &router)
        router.get("/metrics") { _ in
            .text(.ok, exposition.render(), contentType: PrometheusText.contentType)
        }
        router.get("/livez") { _ in .text(.ok, "ok\n") }
        router.get("/readyz") { request in readiness.response(verbose: request.hasQueryItem("verbose")) }
        router.get("/") { _ in
            .text(.ok, "Legate manager\n" + Self.httpIndex.map { "\($0.0)  \($0.1)\n" }.joined())
        }
        return router
    }

    /// The paths the index at `/` lists, with what each answers.
    static let httpIndex = [
        ("/metrics", "Prometheus metrics"), ("/livez  ", "liveness"), ("/readyz ", "readiness (?verbose lists checks)"),
        ("/console", "web console (sign in with an admin API key)"),
    ]
}
