using System.Text;
using Npgsql;

namespace Mail.Protocols.PostgreSql.Schema;

/// <summary>
/// The tables the PostgreSQL backends use, as numbered migrations: <see cref="ApplyAsync"/> brings a database to
/// <see cref="LatestVersion"/> (each migration once, in order, recorded in <c>mail_schema_version</c>), and
/// <see cref="Script"/> gives the same SQL for an operator who applies schema changes by hand. The tables live in the
/// connection's search path (by default <c>public</c>; a schema of their own with <c>Search Path=mail</c> in the
/// connection string, once that schema exists).
/// </summary>
public static class PostgreSqlSchema
{
    // Hosts that start together each try to migrate: the first takes this transaction-scoped advisory lock, the others
    // wait for it and then find the work done. The number is the backends' own (ASCII "MailProt").
    private const long MigrationLock = 0x4D61696C50726F74;

    private const string VersionTable = """
        CREATE TABLE IF NOT EXISTS mail_schema_version (
            version integer PRIMARY KEY,
            description text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        );
        """;

    // Append only: a released migration is never edited, a change is a new one.
    private static readonly Migration[] s_migrations =
    [
        new(1, "outbound queue", """
            CREATE TABLE mail_queue (
                id text PRIMARY KEY,
                -- json, not jsonb: jsonb refuses U+0000, which a remote server's reply may carry.
                envelope json NOT NULL,
                recipients json NOT NULL,
                attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                next_attempt timestamptz NOT NULL,
                lease_token text,
                lease_expires timestamptz NOT NULL DEFAULT '-infinity',
                received_at timestamptz NOT NULL,
                content_length bigint NOT NULL CHECK (content_length >= 0)
            );
            -- What LeaseAsync scans: the due entries in the order they are handed out.
            CREATE INDEX mail_queue_due ON mail_queue (next_attempt, id);
            CREATE INDEX mail_queue_received ON mail_queue (received_at);
            -- Content in chunks, written and read one chunk at a time; checked against its entry at commit.
            CREATE TABLE mail_queue_content (
                id text NOT NULL REFERENCES mail_queue (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
                chunk integer NOT NULL CHECK (chunk >= 0),
                data bytea NOT NULL,
                PRIMARY KEY (id, chunk)
            );
            """),
        new(2, "users", """
            -- Keyed by the login's normal form (UserName.Normalize), so look-alike spellings are one user; the spelling
            -- given is kept. No password is stored: the SCRAM-SHA-256 credential (RFC 5802: PBKDF2 with a salt of the
            -- user's own) verifies PLAIN and LOGIN as well.
            CREATE TABLE mail_users (
                login text PRIMARY KEY,
                display_login text NOT NULL,
                scram_salt bytea NOT NULL,
                scram_iterations integer NOT NULL CHECK (scram_iterations >= 4096),
                scram_stored_key bytea NOT NULL,
                scram_server_key bytea NOT NULL
            );
            -- Keyed by the normal form of the address with its domain in A-labels: an address is one user's.
            CREATE TABLE mail_user_addresses (
                address text PRIMARY KEY,
                login text NOT NULL REFERENCES mail_users (login) ON DELETE CASCADE,
                display_address text NOT NULL
            );
            CREATE INDEX mail_user_addresses_login ON mail_user_addresses (login);
            """),
        new(3, "mailboxes", """
            -- One row per user of the store, keyed by the login's normal form; locked by every change to the user's
            -- folder tree, and the source of UIDVALIDITY values, which only rise (RFC 9051 §2.3.1.1).
            CREATE TABLE mail_mailboxes (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                login text NOT NULL UNIQUE,
                last_uid_validity bigint NOT NULL CHECK (last_uid_validity BETWEEN 0 AND 4294967295)
            );
            -- A folder's row is locked by every change to its messages: UIDs and MODSEQs are handed out and committed
            -- in one order. Expunges above expunges_remembered_after are in mail_expunges (expunges_kept of them).
            CREATE TABLE mail_folders (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                mailbox_id bigint NOT NULL REFERENCES mail_mailboxes (id) ON DELETE CASCADE,
                name text NOT NULL,
                special_use integer NOT NULL DEFAULT 0,
                uid_validity bigint NOT NULL CHECK (uid_validity BETWEEN 1 AND 4294967295),
                uid_next bigint NOT NULL DEFAULT 1 CHECK (uid_next BETWEEN 1 AND 4294967296),
                highest_modseq bigint NOT NULL DEFAULT 1,
                expunges_remembered_after bigint NOT NULL DEFAULT 1,
                expunges_kept integer NOT NULL DEFAULT 0,
                UNIQUE (mailbox_id, name)
            );
            -- A message's content and MIME summary, shared by its copies (COPY writes no octets again); removed with
            -- its last message. The summary is MessageSummaryJson's UTF-8, filled in when first asked for if absent.
            CREATE TABLE mail_contents (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                size bigint NOT NULL CHECK (size >= 0),
                summary bytea
            );
            CREATE TABLE mail_content_chunks (
                id bigint NOT NULL REFERENCES mail_contents (id) ON DELETE CASCADE,
                chunk integer NOT NULL CHECK (chunk >= 0),
                data bytea NOT NULL,
                PRIMARY KEY (id, chunk)
            );
            CREATE TABLE mail_messages (
                folder_id bigint NOT NULL REFERENCES mail_folders (id) ON DELETE CASCADE,
                uid bigint NOT NULL CHECK (uid BETWEEN 1 AND 4294967295),
                modseq bigint NOT NULL,
                flags integer NOT NULL,
                keywords text[] NOT NULL DEFAULT '{}',
                internal_date timestamptz NOT NULL,
                -- The internal date's offset from UTC in minutes, as given (timestamptz keeps only the instant).
                internal_date_offset smallint NOT NULL DEFAULT 0,
                size bigint NOT NULL CHECK (size >= 0),
                content_id bigint NOT NULL REFERENCES mail_contents (id),
                PRIMARY KEY (folder_id, uid)
            );
            -- What a session on another host reads after a notification: the messages changed since a MODSEQ.
            CREATE INDEX mail_messages_modseq ON mail_messages (folder_id, modseq);
            CREATE INDEX mail_messages_content ON mail_messages (content_id);
            -- Expunged UIDs with the MODSEQ of their expunge (RFC 7162 VANISHED), a bounded number per folder.
            CREATE TABLE mail_expunges (
                folder_id bigint NOT NULL REFERENCES mail_folders (id) ON DELETE CASCADE,
                modseq bigint NOT NULL,
                uid bigint NOT NULL,
                PRIMARY KEY (folder_id, modseq, uid)
            );
            CREATE TABLE mail_subscriptions (
                mailbox_id bigint NOT NULL REFERENCES mail_mailboxes (id) ON DELETE CASCADE,
                name text NOT NULL,
                PRIMARY KEY (mailbox_id, name)
            );
            """),
    ];

    /// <summary>The version <see cref="ApplyAsync"/> brings a database to.</summary>
    public static int LatestVersion => s_migrations[^1].Version;

    /// <summary>
    /// Applies the migrations the database lacks, in one transaction (PostgreSQL's DDL is transactional: a failure leaves
    /// the database as it was), under an advisory lock so that hosts starting together do not race. Returns the version
    /// the database was at before.
    /// </summary>
    /// <exception cref="InvalidOperationException">The database is at a version newer than this package knows (a newer host migrated it).</exception>
    public static async Task<int> ApplyAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        using (var locking = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction))
        {
            locking.Parameters.Add(new NpgsqlParameter<long> { TypedValue = MigrationLock });
            await locking.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        using (var encoding = new NpgsqlCommand("SHOW server_encoding", connection, transaction))
        {
            // The envelopes' JSON and the users' names hold any Unicode; a SQL_ASCII or LATIN1 database would refuse or garble them.
            if (await encoding.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not "UTF8")
            {
                throw new InvalidOperationException("The mail database must be UTF8 (CREATE DATABASE ... ENCODING 'UTF8').");
            }
        }
        using (var create = new NpgsqlCommand(VersionTable, connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        int current;
        using (var read = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM mail_schema_version", connection, transaction))
        {
            current = (int)(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
        if (current > LatestVersion)
        {
            throw new InvalidOperationException(
                $"The database's mail schema is at version {current}, newer than this package's {LatestVersion}: use a package at least as new as the host that migrated it.");
        }
        foreach (var migration in s_migrations.Where(m => m.Version > current))
        {
            using var apply = new NpgsqlCommand(migration.Sql, connection, transaction);
            await apply.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            using var record = new NpgsqlCommand("INSERT INTO mail_schema_version (version, description) VALUES ($1, $2)", connection, transaction);
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = migration.Version });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = migration.Description });
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return current;
    }

    /// <summary>
    /// The SQL that brings a database from <paramref name="fromVersion"/> (0: an empty one) to <see cref="LatestVersion"/>,
    /// in one transaction, recording each version as <see cref="ApplyAsync"/> does: for operators who apply schema changes
    /// themselves (<c>psql -v ON_ERROR_STOP=1 -f</c>).
    /// </summary>
    public static string Script(int fromVersion = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromVersion);
        // The same lock as ApplyAsync, and a check that the database is where the script starts from.
        var script = new StringBuilder("BEGIN;\n")
            .Append("SELECT pg_advisory_xact_lock(").Append(MigrationLock).Append(");\n")
            .Append(VersionTable).Append('\n')
            .Append("DO $$ BEGIN IF (SELECT coalesce(max(version), 0) FROM mail_schema_version) <> ").Append(fromVersion)
            .Append(" THEN RAISE EXCEPTION 'the mail schema is not at version ").Append(fromVersion).Append("'; END IF; END $$;\n");
        foreach (var migration in s_migrations.Where(m => m.Version > fromVersion))
        {
            script.Append("-- ").Append(migration.Version).Append(": ").Append(migration.Description).Append('\n')
                .Append(migration.Sql).Append('\n')
                .Append("INSERT INTO mail_schema_version (version, description) VALUES (")
                .Append(migration.Version).Append(", '").Append(migration.Description.Replace("'", "''", StringComparison.Ordinal)).Append("');\n");
        }
        return script.Append("COMMIT;\n").ToString();
    }

    private sealed record Migration(int Version, string Description, string Sql);
}
