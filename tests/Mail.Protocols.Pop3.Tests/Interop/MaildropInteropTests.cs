using MailKit.Net.Pop3;
using MailKit.Security;

namespace Mail.Protocols.Pop3.Tests.Interop;

/// <summary>
/// Maildrop semantics seen by MailKit over loopback: deletions are committed by QUIT only, the maildrop is
/// locked against a second login, and a wrong password is refused after a delay without ending the session.
/// </summary>
public sealed class MaildropInteropTests
{
    private static async Task<Pop3InteropHost> HostWithMessagesAsync(int count, CancellationToken ct, Action<Hosting.MailHostOptions>? configure = null)
    {
        var host = await Pop3InteropHost.StartAsync(configure);
        for (var i = 1; i <= count; i++)
        {
            await host.AppendAsync(Messages.Raw(i), cancellationToken: ct);
        }
        return host;
    }

    private static async Task<uint[]> UidsAsync(Pop3InteropHost host, CancellationToken ct) =>
        [.. (await host.Host.Store.ListMessagesAsync(Pop3InteropHost.Alice, "INBOX", ct)).Select(m => m.Uid)];

    [Fact]
    public async Task Dele_then_quit_removes_the_message_from_the_store()
    {
        var ct = Wire.Timeout();
        await using var host = await HostWithMessagesAsync(3, ct);
        var before = await UidsAsync(host, ct);

        var log = new TranscriptLogger();
        using var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3, SecureSocketOptions.StartTls, ct);
        await client.AuthenticateAsync(Pop3InteropHost.AliceCredential, ct);
        await client.DeleteMessageAsync(1, ct);
        // Until QUIT the store is untouched.
        Assert.Equal(before, await UidsAsync(host, ct));
        await client.DisconnectAsync(true, ct);

        Assert.Contains("(1 message(s) deleted)", log.Transcript, StringComparison.Ordinal);
        Assert.Equal(new[] { before[0], before[2] }, await UidsAsync(host, ct));
    }

    [Fact]
    public async Task Dele_of_every_message_then_quit_empties_the_inbox()
    {
        var ct = Wire.Timeout();
        await using var host = await HostWithMessagesAsync(3, ct);

        var log = new TranscriptLogger();
        using var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3, SecureSocketOptions.StartTls, ct);
        await client.AuthenticateAsync(Pop3InteropHost.AliceCredential, ct);
        await client.DeleteMessagesAsync(0, 3, ct);
        await client.DisconnectAsync(true, ct);

        Assert.Empty(await UidsAsync(host, ct));
        var (next, _) = await host.LoginWhenUnlockedAsync(ct);
        using (next)
        {
            Assert.Equal(0, next.Count);
            await next.DisconnectAsync(true, ct);
        }
    }

    [Fact]
    public async Task Dele_then_dropped_connection_deletes_nothing()
    {
        var ct = Wire.Timeout();
        await using var host = await HostWithMessagesAsync(3, ct);
        var before = await UidsAsync(host, ct);

        var log = new TranscriptLogger();
        var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3, SecureSocketOptions.StartTls, ct);
        await client.AuthenticateAsync(Pop3InteropHost.AliceCredential, ct);
        await client.DeleteMessageAsync(0, ct);
        await client.DeleteMessageAsync(2, ct);
        client.Dispose(); // closes the socket without QUIT

        // A new login succeeds once the server has finished the dropped session (the lock is released then);
        // by that time any deletion would have been made.
        var (next, nextLog) = await host.LoginWhenUnlockedAsync(ct);
        using (next)
        {
            Assert.True(next.Count == 3, "Messages are gone after a dropped connection. Transcripts:\n" + log.Transcript + "\n---\n" + nextLog.Transcript);
            await next.DisconnectAsync(true, ct);
        }
        Assert.DoesNotContain("C: QUIT", log.Transcript, StringComparison.Ordinal);
        Assert.Equal(before, await UidsAsync(host, ct));
    }

    [Fact]
    public async Task Dele_then_rset_then_quit_deletes_nothing()
    {
        var ct = Wire.Timeout();
        await using var host = await HostWithMessagesAsync(2, ct);
        var before = await UidsAsync(host, ct);

        var log = new TranscriptLogger();
        using var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3, SecureSocketOptions.StartTls, ct);
        await client.AuthenticateAsync(Pop3InteropHost.AliceCredential, ct);
        await client.DeleteMessageAsync(0, ct);
        await client.ResetAsync(ct);
        await client.DisconnectAsync(true, ct);

        Assert.Contains("(0 message(s) deleted)", log.Transcript, StringComparison.Ordinal);
        Assert.Equal(before, await UidsAsync(host, ct));
    }

    [Fact]
    public async Task New_delivery_during_a_session_shows_up_at_the_next_session_only()
    {
        var ct = Wire.Timeout();
        await using var host = await HostWithMessagesAsync(1, ct);

        var log = new TranscriptLogger();
        using var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3, SecureSocketOptions.StartTls, ct);
        await client.AuthenticateAsync(Pop3InteropHost.AliceCredential, ct);
        await host.AppendAsync(Messages.Raw(2), cancellationToken: ct);
        Assert.Equal(1, await client.GetMessageCountAsync(ct));
        Assert.Single(await client.GetMessageUidsAsync(ct));
        await client.DisconnectAsync(true, ct);

        var (next, _) = await host.LoginWhenUnlockedAsync(ct);
        using (next)
        {
            Assert.Equal(2, next.Count);
            Assert.Equal("Message 2", (await next.GetMessageAsync(1, ct)).Subject);
            await next.DisconnectAsync(true, ct);
        }
    }

    [Fact]
    public async Task Second_concurrent_login_gets_in_use_and_the_first_session_keeps_working()
    {
        var ct = Wire.Timeout();
        await using var host = await HostWithMessagesAsync(2, ct);

        var firstLog = new TranscriptLogger();
        using var first = new Pop3Client(firstLog);
        await host.ConnectAsync(first, host.Pop3, SecureSocketOptions.StartTls, ct);
        await first.AuthenticateAsync(new SaslMechanismPlain(Pop3InteropHost.AliceCredential), ct);
        Assert.True(first.IsAuthenticated);

        var secondLog = new TranscriptLogger();
        using var second = new Pop3Client(secondLog);
        await host.ConnectAsync(second, host.Pop3s, SecureSocketOptions.SslOnConnect, ct);
        var error = await Assert.ThrowsAnyAsync<Exception>(() => second.AuthenticateAsync(new SaslMechanismScramSha256(Pop3InteropHost.AliceCredential), ct));
        Assert.True(error is AuthenticationException or Pop3CommandException, $"Unexpected {error}\nTranscript:\n{secondLog.Transcript}");
        Assert.Contains("S: -ERR [IN-USE] ", secondLog.Transcript, StringComparison.Ordinal);
        Assert.False(second.IsAuthenticated);
        Assert.True(second.IsConnected, "The refused session was closed. Transcript:\n" + secondLog.Transcript);

        // USER/PASS is locked out the same way.
        second.Capabilities &= ~Pop3Capabilities.Apop;
        second.AuthenticationMechanisms.Clear();
        await Assert.ThrowsAsync<AuthenticationException>(() => second.AuthenticateAsync(Pop3InteropHost.AliceCredential, ct));
        Assert.Equal(2, Wire.Count(secondLog.Transcript, "S: -ERR [IN-USE] "));

        // Another user is not affected.
        var bobLog = new TranscriptLogger();
        using (var bob = new Pop3Client(bobLog))
        {
            await host.ConnectAsync(bob, host.Pop3, SecureSocketOptions.StartTls, ct);
            await bob.AuthenticateAsync(new SaslMechanismPlain(Pop3InteropHost.Bob, "bob"), ct);
            Assert.Equal(0, bob.Count);
            await bob.DisconnectAsync(true, ct);
        }

        // The first session still works, and its deletion is committed.
        Assert.Equal(2, await first.GetMessageCountAsync(ct));
        Assert.Equal("Message 1", (await first.GetMessageAsync(0, ct)).Subject);
        await first.DeleteMessageAsync(0, ct);
        await first.DisconnectAsync(true, ct);
        Assert.Single(await host.Host.Store.ListMessagesAsync(Pop3InteropHost.Alice, "INBOX", ct));

        // Once the first session is over, the lock is free again.
        var (third, _) = await host.LoginWhenUnlockedAsync(ct);
        using (third)
        {
            Assert.Equal(1, third.Count);
            await third.DisconnectAsync(true, ct);
        }
    }

    public static TheoryData<string> LoginMethods => new() { "PLAIN", "SCRAM-SHA-256", "USER/PASS", "APOP" };

    [Theory]
    [MemberData(nameof(LoginMethods))]
    public async Task Wrong_password_is_refused_after_the_delay_and_the_session_can_retry(string method)
    {
        var ct = Wire.Timeout();
        var delay = TimeSpan.FromSeconds(2);
        var time = new WatchedTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await HostWithMessagesAsync(1, ct, options =>
        {
            options.Pop3.FailedAuthDelay = delay;
            options.TimeProvider = time;
        });

        var log = new TranscriptLogger();
        using var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3, SecureSocketOptions.StartTls, ct);
        Task LoginAsync(string password)
        {
            var credential = new System.Net.NetworkCredential(Pop3InteropHost.Alice, password);
            switch (method)
            {
                case "PLAIN":
                    return client.AuthenticateAsync(new SaslMechanismPlain(credential), ct);
                case "SCRAM-SHA-256":
                    return client.AuthenticateAsync(new SaslMechanismScramSha256(credential), ct);
                case "USER/PASS":
                    client.Capabilities &= ~Pop3Capabilities.Apop;
                    client.AuthenticationMechanisms.Clear();
                    return client.AuthenticateAsync(credential, ct);
                default:
                    client.AuthenticationMechanisms.Clear();
                    // APOP first, as MailKit does whenever the greeting has a timestamp.
                    return client.AuthenticateAsync(credential, ct);
            }
        }

        // The refusal waits exactly the delay: nothing just before it, the -ERR at it. After a failed APOP MailKit
        // tries USER/PASS whatever CAPA said, a second failed login with its own delay.
        var timerStarted = time.NextTimerAsync(delay);
        await time.AssertDelayedAsync(timerStarted, Assert.ThrowsAsync<AuthenticationException>(() => LoginAsync("wrong password")), delay,
            delays: method == "APOP" ? 2 : 1);

        Assert.False(client.IsAuthenticated);
        Assert.True(client.IsConnected, log.Transcript);
        Assert.Contains("S: -ERR [AUTH] Authentication failed", log.Transcript, StringComparison.Ordinal);
        await Assert.ThrowsAsync<MailKit.ServiceNotAuthenticatedException>(() => client.GetMessageCountAsync(ct));

        await LoginAsync(Pop3InteropHost.AlicePassword);
        Assert.True(client.IsAuthenticated, log.Transcript);
        Assert.Equal(1, client.Count);
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Wrong_password_with_mailkit_default_login_is_an_authentication_error()
    {
        var ct = Wire.Timeout();
        await using var host = await HostWithMessagesAsync(1, ct);

        var log = new TranscriptLogger();
        using var client = new Pop3Client(log);
        await host.ConnectAsync(client, host.Pop3, SecureSocketOptions.StartTls, ct);
        // MailKit tries APOP, then every SASL mechanism, then USER/PASS.
        var error = await Record.ExceptionAsync(() => client.AuthenticateAsync(new System.Net.NetworkCredential(Pop3InteropHost.Alice, "nope"), ct));
        Assert.True(error is AuthenticationException, $"Expected AuthenticationException, got {error}\nTranscript:\n{log.Transcript}");
        Assert.False(client.IsAuthenticated);
        Assert.DoesNotContain("+OK alice@example.test has", log.Transcript, StringComparison.Ordinal);
    }

    /// <summary>
    /// One response per command (RFC 1939 §3), also when a failed login is the one that reaches
    /// MaxAuthFailures (10 by default): an extra unsolicited "-ERR" would be read as the answer to the
    /// client's next command. Every reply is asserted, and that the server then closes.
    /// </summary>
    [Fact]
    public async Task Reaching_the_auth_failure_limit_answers_the_failing_command_once()
    {
        var ct = Wire.Timeout();
        await using var host = await HostWithMessagesAsync(1, ct);

        await using var client = await RawLineClient.ConnectAsync(host.Pop3s);
        await client.StartTlsAsync(host.Host.Certificate);
        Assert.StartsWith("+OK pop.interop.test POP3 ready", await client.ReadLineAsync());
        var wrong = "AUTH PLAIN " + Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes($"\0{Pop3InteropHost.Alice}\0wrong"));
        for (var i = 1; i < 10; i++)
        {
            Assert.Equal("-ERR [AUTH] Authentication failed", await client.CommandAsync(wrong));
            Assert.Equal("+OK", await client.CommandAsync("USER " + Pop3InteropHost.Alice)); // good commands between do not reset the count
        }
        Assert.Equal("-ERR [AUTH] Authentication failed, closing", await client.CommandAsync(wrong));
        Assert.Equal("", await client.ReadToEndAsync()); // nothing more, and the server closed the connection
    }
}
