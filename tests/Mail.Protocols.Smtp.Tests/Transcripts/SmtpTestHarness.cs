using System.IO.Pipelines;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.InMemory;
using Mail.Protocols.Policy;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Smtp.Tests.Transcripts;

/// <summary>
/// Runs one SMTP session over in-memory pipes: the test writes client bytes and reads reply lines.
/// Time is a FakeTimeProvider driven by the test, with the connection on a heartbeat of its own.
/// </summary>
internal sealed class SmtpTestHarness : IAsyncDisposable
{
    private readonly Pipe _toServer = new();
    private readonly Pipe _toClient = new();
    private readonly Heartbeat _heartbeat;
    private readonly MailConnection _connection;
    private readonly StreamReader _replies;
    private readonly ObservedPipeReader _input;

    public SmtpTestHarness(Action<SmtpServerOptions>? configure = null, SmtpRole role = SmtpRole.Mx, System.Diagnostics.Metrics.IMeterFactory? meterFactory = null,
        Addressing.IAddressBook? addressBook = null, Action<RecipientPolicyOptions>? configurePolicy = null,
        IRecipientPolicy? policy = null)
    {
        Time = new WatchedTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        Store = new InMemoryMailboxStore(Time);
        Queue = new InMemoryMessageQueue(Time);
        Users = new InMemoryUserDirectory();
        Users.AddUser("alice@example.test", "alice");
        Users.AddUser("bob@example.test", "bob");
        var policyOptions = new RecipientPolicyOptions { PostmasterLogin = "alice@example.test" };
        policyOptions.LocalDomains.Add("example.test");
        configurePolicy?.Invoke(policyOptions);
        Options = new SmtpServerOptions { ServerName = "mx.example.test" };
        configure?.Invoke(Options);
        Server = new SmtpServer(Options, new SmtpServices(Store, Queue, Users, policy ?? new DefaultRecipientPolicy(policyOptions, Users, addressBook)), [], Time, meterFactory: meterFactory);
        _heartbeat = new Heartbeat(Time);
        _input = new ObservedPipeReader(_toServer.Reader);
        _connection = new MailConnection(new TestDuplexPipe(_input, _toClient.Writer), new System.Net.IPEndPoint(System.Net.IPAddress.Parse("192.0.2.10"), 40000), null, _heartbeat, isSecure: false);
        _replies = new StreamReader(_toClient.Reader.AsStream(), Encoding.UTF8);
        // As the listener does: the connection is disposed (and the client sees the end) when the session ends.
        Session = Task.Run(async () =>
        {
            try
            {
                await Server.RunSessionAsync(_connection, role);
            }
            finally
            {
                await _connection.DisposeAsync();
            }
        });
    }

    public WatchedTimeProvider Time { get; }
    public InMemoryMailboxStore Store { get; }
    public InMemoryMessageQueue Queue { get; }
    public InMemoryUserDirectory Users { get; }
    public SmtpServerOptions Options { get; }
    public SmtpServer Server { get; }
    public Task Session { get; }
    public MailConnection Connection => _connection;

    /// <summary>What the session has read of the client's octets (to wait until it has seen them).</summary>
    public ObservedPipeReader Input => _input;

    public async Task SendAsync(string text)
    {
        await _toServer.Writer.WriteAsync(Encoding.UTF8.GetBytes(text));
    }

    public async Task SendAsync(byte[] bytes) => await _toServer.Writer.WriteAsync(bytes);

    public async Task CloseClientAsync() => await _toServer.Writer.CompleteAsync();

    /// <summary>Reads one reply line (without CRLF); null when the server closed.</summary>
    public async Task<string?> ReadLineAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await _replies.ReadLineAsync(timeout.Token);
    }

    /// <summary>Reads a whole (possibly multi-line) reply and returns its last line.</summary>
    public async Task<string> ReadReplyAsync()
    {
        while (true)
        {
            var line = await ReadLineAsync() ?? throw new InvalidOperationException("server closed the connection");
            if (line.Length < 4 || line[3] != '-')
            {
                return line;
            }
        }
    }

    /// <summary>Reads a whole (possibly multi-line) reply and returns every line of it.</summary>
    public async Task<List<string>> ReadReplyLinesAsync()
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync() ?? throw new InvalidOperationException("server closed the connection");
            lines.Add(line);
            if (line.Length < 4 || line[3] != '-')
            {
                return lines;
            }
        }
    }

    /// <summary>Sends a command and returns every line of its reply.</summary>
    public async Task<List<string>> CommandLinesAsync(string command)
    {
        await SendAsync(command + "\r\n");
        return await ReadReplyLinesAsync();
    }

    /// <summary>Sends a command and returns the last line of its reply.</summary>
    public async Task<string> CommandAsync(string command)
    {
        await SendAsync(command + "\r\n");
        return await ReadReplyAsync();
    }

    /// <summary>Reads the greeting and says EHLO.</summary>
    public async Task StartAsync(string helo = "client.example.org")
    {
        Assert.StartsWith("220 mx.example.test ESMTP", await ReadReplyAsync());
        Assert.StartsWith("250 ", await CommandAsync("EHLO " + helo));
    }

    /// <summary>Waits until the server has ended the session (true) or the wait gave up.</summary>
    public async Task<bool> EndedAsync() => await Task.WhenAny(Session, Task.Delay(TimeSpan.FromSeconds(30))) == Session;

    public async ValueTask DisposeAsync()
    {
        await _toServer.Writer.CompleteAsync();
        await Task.WhenAny(Session, Task.Delay(TimeSpan.FromSeconds(10)));
        await _connection.DisposeAsync();
        _heartbeat.Dispose();
    }

}
