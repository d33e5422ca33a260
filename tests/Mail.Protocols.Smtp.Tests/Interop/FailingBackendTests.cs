using System.Net;
using System.Text;
using Mail.Protocols.InMemory;
using Mail.Protocols.Policy;
using Mail.Protocols.TestSupport.Faults;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Smtp.Tests.Interop;

/// <summary>
/// A user directory or store that throws something of its own (a directory server that does not answer, a
/// driver's exception) costs the command with a temporary reply, never the session: AUTH answers RFC 4954's
/// 454 4.7.0, RCPT and the end of DATA 451 4.3.0, and the same connection goes on once the backend recovers.
/// </summary>
public sealed class FailingBackendTests
{
    private const string Alice = "alice@example.test";

    private sealed class Server : IAsyncDisposable
    {
        private readonly SmtpServer _smtp;

        public Server(ILoggerFactory? loggerFactory = null)
        {
            var users = new InMemoryUserDirectory();
            users.AddUser(Alice, "alice");
            users.AddUser("bob@example.test", "bob");
            Users = new FaultyUserDirectory(users);
            Store = new FaultyMailboxStore(new InMemoryMailboxStore());
            var policy = new RecipientPolicyOptions();
            policy.LocalDomains.Add("example.test");
            var options = new SmtpServerOptions { ServerName = "smtp.faulty.test", AllowPlaintextAuth = true, FailedAuthDelay = TimeSpan.FromMilliseconds(10) };
            _smtp = new SmtpServer(options, new SmtpServices(Store, new InMemoryMessageQueue(), Users, new DefaultRecipientPolicy(policy, Users)),
                [new SmtpEndpoint(new IPEndPoint(IPAddress.Loopback, 0), SmtpRole.Submission)], loggerFactory: loggerFactory);
        }

        public FaultyUserDirectory Users { get; }
        public FaultyMailboxStore Store { get; }
        public IPEndPoint EndPoint => _smtp.BoundEndPoints[0];

        public Task StartAsync() => _smtp.StartAsync();

        public ValueTask DisposeAsync() => _smtp.DisposeAsync();
    }

    private static string Plain(string login, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{login}\0{password}"));

    [Fact]
    public async Task Directory_failing_during_auth_gets_454_and_the_same_connection_authenticates_once_it_answers()
    {
        await using var server = new Server();
        await server.StartAsync();
        var timeout = Wire.Timeout();
        await using var smtp = await RawSmtpConnection.ConnectAsync(server.EndPoint, timeout);
        Assert.StartsWith("220 ", await smtp.ReadSingleLineReplyAsync(timeout));
        await smtp.WriteAsync("EHLO client.test\r\n", timeout);
        Assert.StartsWith("250", (await smtp.ReadReplyAsync(timeout))[^1]);

        server.Users.Fault = new TimeoutException("directory server did not answer");
        await smtp.WriteAsync("AUTH PLAIN " + Plain(Alice, "alice") + "\r\n", timeout);
        Assert.Equal("454 4.7.0 Temporary authentication failure", await smtp.ReadSingleLineReplyAsync(timeout));
        // Also in the middle of a challenge exchange.
        await smtp.WriteAsync("AUTH LOGIN\r\n", timeout);
        Assert.StartsWith("334 ", await smtp.ReadSingleLineReplyAsync(timeout));
        await smtp.WriteAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(Alice)) + "\r\n", timeout);
        Assert.StartsWith("334 ", await smtp.ReadSingleLineReplyAsync(timeout));
        await smtp.WriteAsync(Convert.ToBase64String("alice"u8) + "\r\n", timeout);
        Assert.Equal("454 4.7.0 Temporary authentication failure", await smtp.ReadSingleLineReplyAsync(timeout));

        // A directory client's own timeout often surfaces as a cancellation (HttpClient's TaskCanceledException).
        server.Users.Fault = new TaskCanceledException("directory request timed out");
        await smtp.WriteAsync("AUTH PLAIN " + Plain(Alice, "alice") + "\r\n", timeout);
        Assert.Equal("454 4.7.0 Temporary authentication failure", await smtp.ReadSingleLineReplyAsync(timeout));

        server.Users.Fault = null;
        await smtp.WriteAsync("AUTH PLAIN " + Plain(Alice, "alice") + "\r\n", timeout);
        Assert.Equal("235 2.7.0 Authentication successful", await smtp.ReadSingleLineReplyAsync(timeout));
    }

    [Fact]
    public async Task A_relayed_message_the_store_failed_to_take_is_stored_when_sent_again_and_only_then_suppressed()
    {
        await using var server = new Server();
        await server.StartAsync();
        var timeout = Wire.Timeout();
        using var client = await ConnectAsync(server, timeout);
        var message = RelayedMessage();

        server.Store.Fail = method => method == nameof(Storage.IMailboxStore.AppendAsync) ? new InvalidOperationException("driver bug") : null;
        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(message, timeout));
        Assert.Equal(451, (int)refused.StatusCode);
        server.Store.Fail = null;
        // The failed attempt was not remembered: the retry is stored, and a second retry is the duplicate.
        await client.SendAsync(message, timeout);
        await client.SendAsync(message, timeout);
        await client.DisconnectAsync(true, timeout);
        Assert.Single(await server.Store.ListMessagesAsync("bob@example.test", "INBOX"));
    }

    private static MimeKit.MimeMessage RelayedMessage()
    {
        var message = Build.TextMessage(Alice, ["bob@example.test"], "relayed", "hello bob");
        message.MessageId = "relayed-2@example.org";
        // A fixed Date: each call must produce the same octets (MimeKit stamps the clock's second, and the two sends
        // of one test could straddle a second on a loaded machine, making two different messages).
        message.Date = new DateTimeOffset(2026, 11, 29, 11, 57, 0, TimeSpan.Zero);
        message.Headers.Insert(0, new MimeKit.Header(MimeKit.HeaderId.Received,
            "from client.example.org ([192.0.2.7]) by mx.sender.test with ESMTPSA id 4QX9ZB1Z; Sun, 29 Nov 2026 11:58:00 +0000"));
        return message;
    }

    private static async Task<SmtpClient> ConnectAsync(Server server, CancellationToken timeout)
    {
        var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", server.EndPoint.Port, SecureSocketOptions.None, timeout);
        await client.AuthenticateAsync(Alice, "alice", timeout);
        return client;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_same_relayed_message_on_two_connections_at_once_is_stored_once_even_if_the_first_store_fails(bool firstFails)
    {
        // The previous hop gave up waiting for our 250 and sent again while the first copy was still being stored.
        var secondWaiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new Server(new EventLoggerFactory(id =>
        {
            if (id == 1016) // a delivery found the same message to the same user in progress and waits for it
            {
                secondWaiting.TrySetResult();
            }
        }));
        await server.StartAsync();
        var timeout = Wire.Timeout();
        using var first = await ConnectAsync(server, timeout);
        using var second = await ConnectAsync(server, timeout);
        // The barrier: the first append to reach the store is held there until the test releases it.
        var firstEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var appends = 0;
        server.Store.BeforeAppend = () =>
        {
            if (Interlocked.Increment(ref appends) > 1)
            {
                return Task.CompletedTask;
            }
            firstEntered.SetResult();
            return release.Task;
        };
        server.Store.Fail = method => method == nameof(Storage.IMailboxStore.AppendAsync) && firstFails && Volatile.Read(ref appends) == 1
            ? new InvalidOperationException("driver bug") : null;

        var sends = new[] { first.SendAsync(RelayedMessage(), timeout), second.SendAsync(RelayedMessage(), timeout) };
        // Both deliveries overlap: one is inside the store, the other has the whole message and waits for that one's
        // outcome without having touched the store.
        await firstEntered.Task.WaitAsync(timeout);
        await secondWaiting.Task.WaitAsync(timeout);
        Assert.Equal(1, Volatile.Read(ref appends));
        Assert.All(sends, send => Assert.False(send.IsCompleted));
        release.SetResult();

        var outcomes = await Task.WhenAll(sends.Select(async send =>
        {
            try
            {
                await send;
                return 250;
            }
            catch (SmtpCommandException ex)
            {
                return (int)ex.StatusCode;
            }
        }));
        // Either way exactly one copy, and never a 250 for a copy that was not stored.
        Assert.Single(await server.Store.ListMessagesAsync("bob@example.test", "INBOX"));
        Assert.Equal(firstFails ? new[] { 250, 451 } : new[] { 250, 250 }, outcomes.Order());
        Assert.Equal(firstFails ? 2 : 1, appends);
    }

    // Reports the id of every event logged, from any category.
    private sealed class EventLoggerFactory(Action<int> onEvent) : ILoggerFactory, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider) { }

        public void Dispose() { }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            onEvent(eventId.Id);
    }

    [Fact]
    public async Task Directory_failing_at_rcpt_and_store_failing_at_end_of_data_get_451_and_mailkit_then_sends_on_the_same_connection()
    {
        await using var server = new Server();
        await server.StartAsync();
        var timeout = Wire.Timeout();
        using var client = await ConnectAsync(server, timeout);
        var message = Build.TextMessage(Alice, ["bob@example.test"], "hello", "hello bob");

        server.Users.Fault = new InvalidOperationException("directory: connection reset by peer");
        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(message, timeout));
        Assert.Equal(SmtpErrorCode.RecipientNotAccepted, refused.ErrorCode);
        Assert.Equal(451, (int)refused.StatusCode);
        server.Users.Fault = null;

        server.Store.Fail = method => method == nameof(Storage.IMailboxStore.AppendAsync) ? new NotSupportedException("driver bug") : null;
        refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(message, timeout));
        Assert.Equal(SmtpErrorCode.MessageNotAccepted, refused.ErrorCode);
        Assert.Equal(451, (int)refused.StatusCode);
        Assert.True(client.IsConnected);
        server.Store.Fail = null;

        await client.SendAsync(message, timeout);
        await client.DisconnectAsync(true, timeout);
        Assert.Single(await server.Store.ListMessagesAsync("bob@example.test", "INBOX"));
    }
}
