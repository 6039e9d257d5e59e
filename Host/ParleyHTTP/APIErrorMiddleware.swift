import Hummingbird
import HTTPTypes
import Logging

/// Gives the answers no handler wrote the API's shape (docs/openapi.yaml): a path or method
/// nothing serves is 404 `not-found`, and an error no handler turned into a refusal is 500
/// `internal`. Both have the JSON error body every refusal has. The detail of an internal
/// failure goes to the server's log, not to the client.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError where error.status == .notFound {
            return HostServer.error(.notFound, "this host serves no such method and path (docs/api.md lists them)", code: "not-found")
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            return HostServer.error(.contentTooLarge, "the request body is over this endpoint's limit (docs/api.md)", code: "too-large")
        } catch let error as any HTTPResponseError where error.status.kind == .clientError {
            return HostServer.error(error.status, "the request was refused (\(error.status.code) \(error.status.reasonPhrase))", code: "bad-request")
        } catch {
            context.logger.error("internal failure answering \(request.method) \(request.uri.path): \(error)")
            return HostServer.error(.internalServerError, "the host failed while answering; its operator's log has the detail", code: "internal")
        }
    }
}
