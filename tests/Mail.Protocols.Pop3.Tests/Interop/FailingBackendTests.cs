using System.Net;
using System.Text;
using Mail.Protocols.Hosting;
using Mail.Protocols.InMemory;
using Mail.Protocols.Storage;
using Mail.Protocols.TestSupport.Faults;
using MailKit.Net.Pop3;
using MailKit.Security;
using Mail.Protocols.Pop3.Telemetry;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Mail.Protocols.Pop3.Tests.Interop;

/// <summary>
/// A third-party store or user directory that throws something other than <see cref="MailboxStoreException"/>
/// (a driver's own exception, a bug) costs the command, not the session: -ERR [SYS/TEMP], and the same
/// connection goes on once the backend recovers. A failure in the middle of a RETR closes the connection without
/// the final ".", so the client never takes a cut-off message for a whole one. Real clients over real sockets.
/// </summary>
public sealed class FailingBackendTests
{
    private const string Alice = "alice@example.test";
    private const string Message = "From: bob@example.test\r\nSubject: hello\r\n\r\nline one\r\nline two\r\n";

    private static async Task<(MailHost Host, FaultyMailboxStore Store)> StartAsync(System.Diagnostics.Metrics.IMeterFactory? meters = null)
    {
        var store = new FaultyMailboxStore(new InMemoryMailboxStore());
        var options = new MailHostOptions
        {
            SmtpPort = null, SubmissionPort = null, SmtpsPort = null, Pop3Port = 0, Pop3sPort = null, ImapPort = null, ImapsPort = null, Store = store, ServerName = "pop.faulty.test",
            MeterFactory = meters,
        };
        options.Domains.Add("example.test");
        options.Users.Add((Alice, "alice"));
        options.AllowPlaintextAuth = true;
        var host = new MailHost(options);
        await host.StartAsync();
        for (var i = 0; i < 2; i++)
        {
            await store.AppendAsync(Alice, "INBOX", new MemoryStream(Encoding.ASCII.GetBytes(Message)));
        }
        return (host, store);
    }

    // A raw POP3 connection with the greeting read.
    private static async Task<RawLineClient> ConnectRawAsync(IPEndPoint endPoint)
    {
        var pop = await RawLineClient.ConnectAsync(endPoint);
        Assert.StartsWith("+OK", await pop.ReadLineAsync());
        return pop;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // a file-based store's own I/O error, not to be taken for the connection's
    public async Task Store_throwing_at_login_answers_sys_temp_and_the_same_connection_logs_in_once_it_recovers(bool ioException)
    {
        var (host, store) = await StartAsync();
        await using var _ = host;
        await using var pop = await ConnectRawAsync(host.EndPoints["pop3"]);
        Exception fault = ioException ? new IOException("backend: stale NFS handle") : new InvalidOperationException("driver: connection pool exhausted");
        store.Fail = method => method == nameof(IMailboxStore.OpenFolderAsync) ? fault : null;

        Assert.Equal("+OK", await pop.CommandAsync("USER " + Alice));
        Assert.Equal("-ERR [SYS/TEMP] Mailbox temporarily unavailable", await pop.CommandAsync("PASS alice"));
        store.Fail = null;
        // The maildrop lock taken for the failed login was released.
        Assert.Equal("+OK", await pop.CommandAsync("USER " + Alice));
        Assert.Equal("+OK alice@example.test has 2 message(s)", await pop.CommandAsync("PASS alice"));
        Assert.StartsWith("+OK 2 ", await pop.CommandAsync("STAT"));
    }

    [Fact]
    public async Task Store_failing_to_remove_deleted_messages_at_quit_answers_sys_temp_closes_and_counts_the_refusal()
    {
        using var meters = new TestMeterFactory();
        using var errors = new MetricCollector<long>(meters, Pop3Metrics.MeterName, "mail.pop3.errors");
        var (host, store) = await StartAsync(meters);
        await using var _ = host;
        await using var pop = await ConnectRawAsync(host.EndPoints["pop3"]);
        Assert.Equal("+OK", await pop.CommandAsync("USER " + Alice));
        Assert.Equal("+OK alice@example.test has 2 message(s)", await pop.CommandAsync("PASS alice"));
        Assert.StartsWith("+OK", await pop.CommandAsync("DELE 1"));
        store.Fail = method => method == nameof(IMailboxStore.ExpungeAsync) ? new InvalidOperationException("driver bug") : null;

        Assert.Equal("-ERR [SYS/TEMP] Some deleted messages not removed", await pop.CommandAsync("QUIT"));
        Assert.Equal("", await pop.ReadToEndAsync()); // and the session ends (RFC 1939 §6)
        store.Fail = null;
        Assert.Equal(2, (await store.ListMessagesAsync(Alice, "INBOX")).Count);
        Assert.Equal(["DeletionFailed"], errors.GetMeasurementSnapshot().Select(m => (string?)m.Tags["error.type"]));
    }

    [Fact]
    public async Task Store_throwing_on_retr_answers_sys_temp_and_mailkit_goes_on_in_the_same_session()
    {
        var (host, store) = await StartAsync();
        await using var _ = host;
        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", host.EndPoints["pop3"].Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(Alice, "alice");

        store.Fail = method => method == nameof(IMailboxStore.OpenContentAsync) ? new IOException("backend: object store read timed out") : null;
        var refused = await Assert.ThrowsAsync<Pop3CommandException>(() => client.GetMessageAsync(0));
        Assert.Equal("[SYS/TEMP] Mailbox temporarily unavailable", refused.StatusText);
        Assert.True(client.IsConnected);

        store.Fail = null;
        Assert.Equal("hello", (await client.GetMessageAsync(0)).Subject);
        await client.DeleteMessageAsync(1);
        await client.DisconnectAsync(true);
        Assert.Single(await store.ListMessagesAsync(Alice, "INBOX"));
    }

    [Fact]
    public async Task Content_failing_mid_retr_closes_without_the_final_dot_and_deletes_nothing()
    {
        var (host, store) = await StartAsync();
        await using var _ = host;
        await using (var pop = await ConnectRawAsync(host.EndPoints["pop3"]))
        {
            Assert.Equal("+OK", await pop.CommandAsync("USER " + Alice));
            Assert.StartsWith("+OK", await pop.CommandAsync("PASS alice"));
            Assert.StartsWith("+OK", await pop.CommandAsync("DELE 2"));
            store.BreakContentAfter = 20; // the read fails once 20 octets of the message are out
            Assert.StartsWith("+OK ", await pop.CommandAsync("RETR 1"));
            // Exactly what the store gave before failing, then the close: no terminating ".".
            Assert.Equal(Message[..20], await pop.ReadToEndAsync());
        }

        // The server goes on; the message marked deleted in the broken session is still there (no UPDATE state).
        store.BreakContentAfter = null;
        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", host.EndPoints["pop3"].Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(Alice, "alice");
        Assert.Equal(2, client.Count);
        Assert.Equal("hello", (await client.GetMessageAsync(0)).Subject);
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task A_content_stream_failing_to_close_after_a_whole_retr_adds_no_reply_to_a_pipelined_batch()
    {
        var (host, store) = await StartAsync();
        await using var _ = host;
        await using var pop = await ConnectRawAsync(host.EndPoints["pop3"]);
        Assert.Equal("+OK", await pop.CommandAsync("USER " + Alice));
        Assert.StartsWith("+OK", await pop.CommandAsync("PASS alice"));
        store.BreakContentOnDispose = true;
        // One write: RETR, NOOP and QUIT pipelined (RFC 2449 PIPELINING); each must get exactly its own reply.
        Assert.StartsWith($"+OK {Message.Length} octets", await pop.CommandAsync("RETR 1\r\nNOOP\r\nQUIT"));
        var rest = (await pop.ReadToEndAsync()).Split("\r\n");
        Assert.Equal([.. Message.Split("\r\n")[..^1], ".", "+OK", rest[^2], ""], rest);
        Assert.StartsWith("+OK pop.faulty.test POP3 server signing off", rest[^2]);
    }

    [Fact]
    public async Task User_directory_throwing_answers_sys_temp_for_user_pass_and_sasl_and_mailkit_then_logs_in()
    {
        var users = new InMemoryUserDirectory();
        users.AddUser(Alice, "alice");
        var directory = new FaultyUserDirectory(users) { Fault = new TimeoutException("directory server did not answer") };
        var options = new Pop3ServerOptions { ServerName = "pop.faulty.test", AllowPlaintextAuth = true, FailedAuthDelay = TimeSpan.FromMilliseconds(10) };
        await using var server = new Pop3Server(options, new Pop3Services(new InMemoryMailboxStore(), directory), [new Pop3Endpoint(new IPEndPoint(IPAddress.Loopback, 0))]);
        await server.StartAsync();
        var endPoint = server.BoundEndPoints[0];

        await using (var pop = await ConnectRawAsync(endPoint))
        {
            Assert.Equal("+OK", await pop.CommandAsync("USER " + Alice));
            Assert.Equal("-ERR [SYS/TEMP] Mailbox temporarily unavailable", await pop.CommandAsync("PASS alice"));
            Assert.Equal("-ERR [SYS/TEMP] Mailbox temporarily unavailable",
                await pop.CommandAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0" + Alice + "\0alice"))));
            Assert.StartsWith("+OK", await pop.CommandAsync("CAPA"));
        }

        directory.Fault = null;
        using var client = new Pop3Client();
        await client.ConnectAsync("127.0.0.1", endPoint.Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(Alice, "alice");
        Assert.Equal(0, client.Count);
        await client.DisconnectAsync(true);
    }
}
