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
    private readonly Heartbeat _heartbeat;

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
        _heartbeat = new Heartbeat(Time);
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
        _heartbeat.Dispose();
    }

    internal sealed class Client : IAsyncDisposable
    {
        private readonly Pipe _toServer = new();
        private readonly Pipe _toClient = new();
        private readonly MailConnection _connection;
        private readonly StreamReader _replies;

        public Client(ImapTestHarness harness)
        {
            _connection = new MailConnection(new TestDuplexPipe(_toServer.Reader, _toClient.Writer), null, null, harness._heartbeat);
            _replies = new StreamReader(_toClient.Reader.AsStream(), Encoding.Latin1);
            Session = Task.Run(async () =>
            {
                try
                {
                    await harness.Server.RunSessionAsync(_connection);
                }
                finally
                {
                    await _connection.DisposeAsync();
                }
            });
        }

        public Task Session { get; }

        public MailConnection Connection => _connection;

        /// <summary>The raw replies, for a test that watches what the server has handed the pipe (not mixed with <see cref="ReadLineAsync"/>).</summary>
        public PipeReader Replies => _toClient.Reader;

        public async Task SendAsync(string text) => await _toServer.Writer.WriteAsync(Encoding.Latin1.GetBytes(text));

        public async Task SendAsync(byte[] octets) => await _toServer.Writer.WriteAsync(octets);

        public async Task<string?> ReadLineAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            return await _replies.ReadLineAsync(timeout.Token);
        }

        /// <summary>Reads exactly <paramref name="count"/> octets (a literal in a reply), as Latin-1 characters.</summary>
        public async Task<string> ReadOctetsAsync(int count)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var buffer = new char[count];
            var read = await _replies.ReadBlockAsync(buffer.AsMemory(), timeout.Token);
            return new string(buffer, 0, read);
        }

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

        public async Task CloseAsync() => await _toServer.Writer.CompleteAsync();

        public async Task<bool> EndedAsync() => await Task.WhenAny(Session, Task.Delay(TimeSpan.FromSeconds(30))) == Session;

        public async ValueTask DisposeAsync()
        {
            await _toServer.Writer.CompleteAsync();
            await Task.WhenAny(Session, Task.Delay(TimeSpan.FromSeconds(10)));
        }
    }

}
