using System.IO.Pipelines;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.InMemory;
using Mail.Protocols.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Pop3.Tests.Transcripts;

/// <summary>POP3 sessions over in-memory pipes against one shared store, with a FakeTimeProvider.</summary>
internal sealed class Pop3TestHarness : IAsyncDisposable
{
    private readonly List<Client> _clients = [];

    public Pop3TestHarness(Action<Pop3ServerOptions>? configure = null, System.Diagnostics.Metrics.IMeterFactory? meterFactory = null)
    {
        Time = new WatchedTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        Store = new InMemoryMailboxStore(Time);
        Users = new InMemoryUserDirectory();
        Users.AddUser("alice@example.test", "alice");
        Options = new Pop3ServerOptions { ServerName = "pop.example.test", AllowPlaintextAuth = true, FailedAuthDelay = TimeSpan.FromSeconds(2) };
        configure?.Invoke(Options);
        Server = new Pop3Server(Options, new Pop3Services(Store, Users), [], Time, meterFactory: meterFactory);
    }

    public WatchedTimeProvider Time { get; }
    public InMemoryMailboxStore Store { get; }
    public InMemoryUserDirectory Users { get; }
    public Pop3ServerOptions Options { get; }
    public Pop3Server Server { get; }

    public async Task<uint> DeliverAsync(string text, string user = "alice@example.test") =>
        (await Store.AppendAsync(user, "INBOX", new MemoryStream(Encoding.ASCII.GetBytes(text)))).Uid;

    public Client Connect()
    {
        var client = new Client(this);
        _clients.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }
    }

    internal sealed class Client(Pop3TestHarness harness)
        : PipeSessionClient(harness.Server.RunSessionAsync, harness.Time)
    {
        public async Task<string> CommandAsync(string command)
        {
            await SendAsync(command + "\r\n");
            return await ReadLineAsync() ?? throw new InvalidOperationException("closed");
        }

        /// <summary>Reads a multi-line body after its +OK line, up to the "." line (not included).</summary>
        public async Task<List<string>> ReadBodyAsync()
        {
            var lines = new List<string>();
            while (await ReadLineAsync() is { } line && line != ".")
            {
                lines.Add(line);
            }
            return lines;
        }

        public async Task LoginAsync(string user = "alice@example.test", string password = "alice")
        {
            Assert.StartsWith("+OK", await ReadLineAsync());
            Assert.Equal("+OK", await CommandAsync("USER " + user));
            Assert.StartsWith("+OK", await CommandAsync("PASS " + password));
        }
    }
}
