import Foundation
import GRDB
import ParleyCore

/// The host's job table, in an embedded SQLite database (`jobs.sqlite` in the data directory),
/// so the operator can see every job across restarts. A job whose worker was lost to a restart is
/// marked failed, never resumed: its keys and plaintext died with the worker.
public final class JobStore: @unchecked Sendable {
    // @unchecked: GRDB's DatabaseQueue serialises all access.
    let db: DatabaseQueue

    public struct Record: Sendable, Equatable {
        public var id: String
        public var moduleName: String
        public var moduleMeasurement: String
        public var tier: String
        public var state: String
        public var reason: String?
        public var createdAt: Date
        public var updatedAt: Date
    }

    public init(path: String) throws {
        db = try DatabaseQueue(path: path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "job") { t in
                t.primaryKey("id", .text)
                t.column("module_name", .text).notNull()
                t.column("module_measurement", .text).notNull()
                t.column("tier", .text).notNull()
                t.column("state", .text).notNull()
                t.column("reason", .text)
                t.column("created_at", .double).notNull()
                t.column("updated_at", .double).notNull()
            }
        }
        try migrator.migrate(db)
    }

    public func insert(_ r: Record) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO job (id, module_name, module_measurement, tier, state, reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: [r.id, r.moduleName, r.moduleMeasurement, r.tier, r.state, r.reason, r.createdAt.timeIntervalSince1970, r.updatedAt.timeIntervalSince1970])
        }
    }

    public func update(id: String, state: String, reason: String?, at time: Date) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE job SET state = ?, reason = ?, updated_at = ? WHERE id = ?",
                           arguments: [state, reason, time.timeIntervalSince1970, id])
        }
    }

    public func record(_ id: String) throws -> Record? {
        try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM job WHERE id = ?", arguments: [id]).map(Self.record) }
    }

    public func all() throws -> [Record] {
        try db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM job ORDER BY created_at").map(Self.record) }
    }

    /// Marks every job that was live when the host stopped as failed. - Returns: their ids.
    @discardableResult
    public func failOrphans(at time: Date) throws -> [String] {
        try db.write { db in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM job WHERE state NOT IN ('stopped', 'failed')")
            try db.execute(sql: "UPDATE job SET state = 'failed', reason = ?, updated_at = ? WHERE state NOT IN ('stopped', 'failed')",
                           arguments: ["the host restarted while the job was live; its worker, keys and data are gone (launch a new job)", time.timeIntervalSince1970])
            return ids
        }
    }

    static func record(_ row: Row) -> Record {
        Record(id: row["id"], moduleName: row["module_name"], moduleMeasurement: row["module_measurement"], tier: row["tier"],
               state: row["state"], reason: row["reason"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
               updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
    }
}
