using System.IO.Pipelines;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.InMemory;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Session;

/// <summary>IMAP sessions over in-memory pipes against one shared in-memory store, with a fake clock.</summary>
internal sealed class ImapTestHarness : IAsyncDisposable
{
    public const string Alice = "alice@example.test";
    private readonly List<Client> _clients = [];

    public ImapTestHarness(Action<ImapServerOptions>? configure = null, System.Diagnostics.Metrics.IMeterFactory? meterFactory = null,
        Func<IMailboxStore, IMailboxStore>? wrapStore = null, Func<Users.IUserDirectory, Users.IUserDirectory>? wrapUsers = null)
    {
        Time = new WatchedTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        Store = new InMemoryMailboxStore(Time);
        Users = new InMemoryUserDirectory();
        Users.AddUser(Alice, "alice");
        Options = new ImapServerOptions { ServerName = "imap.example.test", AllowPlaintextAuth = true, FailedAuthDelay = TimeSpan.Zero };
        configure?.Invoke(Options);
        Server = new ImapServer(Options, new ImapServices(wrapStore?.Invoke(Store) ?? Store, wrapUsers?.Invoke(Users) ?? Users), [], Time, meterFactory: meterFactory);
    }

    public WatchedTimeProvider Time { get; }
    public InMemoryMailboxStore Store { get; }
    public InMemoryUserDirectory Users { get; }
    public ImapServerOptions Options { get; }
    public ImapServer Server { get; }

    public async Task<uint> DeliverAsync(string text, string folder = "INBOX", string user = Alice) =>
        (await Store.AppendAsync(user, folder, new MemoryStream(Encoding.ASCII.GetBytes(text)))).Uid;

    public Client Connect()
    {
        var client = new Client(this);
        _clients.Add(client);
        return client;
    }

    /// <summary>A client logged in as alice, past the greeting and the LOGIN reply.</summary>
    public async Task<Client> LoginAsync()
    {
        var client = Connect();
        Assert.StartsWith("* OK [CAPABILITY ", await client.ReadLineAsync());
        await client.SendAsync("L1 LOGIN alice@example.test alice\r\n");
        Assert.StartsWith("L1 OK [CAPABILITY ", await client.ReadLineAsync());
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }
    }

    internal sealed class Client(ImapTestHarness harness)
        : PipeSessionClient(harness.Server.RunSessionAsync, harness.Time)
    {
        /// <summary>Sends one command line and reads every line up to the tagged reply (included).</summary>
        public async Task<List<string>> CommandAsync(string tag, string command)
        {
            await SendAsync(tag + " " + command + "\r\n");
            return await ReadUntilTaggedAsync(tag);
        }

        public async Task<List<string>> ReadUntilTaggedAsync(string tag)
        {
            var lines = new List<string>();
            while (true)
            {
                var line = await ReadLineAsync() ?? throw new InvalidOperationException("closed after: " + string.Join(" | ", lines));
                lines.Add(line);
                if (line.StartsWith(tag + " ", StringComparison.Ordinal))
                {
                    return lines;
                }
            }
        }
    }
}
