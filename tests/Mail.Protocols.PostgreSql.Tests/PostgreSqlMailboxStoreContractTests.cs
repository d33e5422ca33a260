using Mail.Protocols.PostgreSql.Mailboxes;
using Mail.Protocols.PostgreSql.Schema;
using Mail.Protocols.Storage;
using Mail.Protocols.Testing.Contracts;
using Npgsql;

namespace Mail.Protocols.PostgreSql.Tests;

/// <summary>
/// The PostgreSQL mailbox store against the durable store contract, each test on a database of its own in the class's
/// cluster; a restart is a new store on a new data source over the same database, and a store "alongside" is another
/// instance on it, as another host would have.
/// </summary>
public sealed class PostgreSqlMailboxStoreContractTests(PostgresServer server) : DurableMailboxStoreContractTests, IClassFixture<PostgresServer>, IDisposable
{
    private readonly List<NpgsqlDataSource> _sources = [];
    private readonly List<PostgreSqlMailboxStore> _stores = [];
    private readonly Dictionary<IMailboxStore, string> _databases = [];

    protected override IMailboxStore CreateStore()
    {
        var connectionString = server.CreateDatabaseAsync().GetAwaiter().GetResult();
        var store = Open(connectionString);
        PostgreSqlSchema.ApplyAsync(_sources[^1]).GetAwaiter().GetResult();
        return store;
    }

    protected override IMailboxStore Reopen(IMailboxStore store)
    {
        ((PostgreSqlMailboxStore)store).Dispose();
        return Open(_databases[store]);
    }

    protected override IMailboxStore OpenAlongside(IMailboxStore store) => Open(_databases[store]);

    private PostgreSqlMailboxStore Open(string connectionString)
    {
        var source = NpgsqlDataSource.Create(connectionString);
        _sources.Add(source);
        var store = new PostgreSqlMailboxStore(source);
        _stores.Add(store);
        _databases[store] = connectionString;
        return store;
    }

    public void Dispose()
    {
        _stores.ForEach(s => s.Dispose());
        _sources.ForEach(s => s.Dispose());
    }
}
