using System.Text;
using System.Net;
using System.Security.Cryptography;
using Mail.Protocols.Imap;
using Mail.Protocols.InMemory;
using Mail.Protocols.Pop3;
using Mail.Protocols.Sasl;
using Mail.Protocols.Smtp;
using Mail.Protocols.Users;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>
/// The SASL mechanism registry with real clients: OAUTHBEARER and XOAUTH2 added by the application and used by MailKit
/// over SMTP, POP3 and IMAP; CRAM-MD5 and APOP offered only when the user directory has clear-text secrets.
/// </summary>
public sealed class SaslRegistryTests
{
    private const string AliceToken = "ya29.alice-token";

    // An application's token check: one known token, issued to alice.
    private sealed class OneTokenValidator : IOAuthTokenValidator
    {
        public List<OAuthToken> Seen { get; } = [];

        public ValueTask<string?> ValidateAsync(OAuthToken token, CancellationToken cancellationToken = default)
        {
            lock (Seen)
            {
                Seen.Add(token);
            }
            return ValueTask.FromResult(token.Token == AliceToken ? "alice@example.test" : null);
        }
    }

    private static MailHostOptions Options(SaslMechanismRegistry registry)
    {
        var options = new MailHostOptions
        {
            SmtpPort = null, SubmissionPort = null, SmtpsPort = 0, Pop3Port = null, Pop3sPort = 0, ImapPort = null, ImapsPort = 0,
            ServerName = "mx.example.test",
        };
        options.Domains.Add("example.test");
        options.Users.Add(("alice@example.test", "alice"));
        foreach (var server in new MailServerOptions[] { options.Smtp, options.Pop3, options.Imap })
        {
            server.SaslRegistry = registry;
            server.AuthMechanisms.Insert(0, SaslMechanisms.XOAuth2);
            server.AuthMechanisms.Insert(0, SaslMechanisms.OAuthBearer);
        }
        return options;
    }

    private static T Pinned<T>(T client, MailHost host) where T : MailService
    {
        var expected = host.Certificate.GetCertHashString(HashAlgorithmName.SHA256);
        client.ServerCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString(HashAlgorithmName.SHA256) == expected;
        client.CheckCertificateRevocation = false;
        return client;
    }

    public static TheoryData<string> BearerMechanisms() => [SaslMechanisms.OAuthBearer, SaslMechanisms.XOAuth2];

    private static MailKit.Security.SaslMechanism Bearer(string name, string user, string token) => name == SaslMechanisms.OAuthBearer
        ? new SaslMechanismOAuthBearer(user, token)
        : new SaslMechanismOAuth2(user, token);

    [Theory]
    [MemberData(nameof(BearerMechanisms))]
    public async Task MailKit_logs_in_with_a_bearer_token_over_SMTP_POP3_and_IMAP_and_a_bad_token_is_refused_on_a_healthy_connection(string mechanism)
    {
        var validator = new OneTokenValidator();
        var registry = new SaslMechanismRegistry().AddOAuthBearer(validator, scope: "mail").AddXOAuth2(validator);
        await using var host = new MailHost(Options(registry));
        await host.StartAsync();

        using (var smtp = Pinned(new SmtpClient(), host))
        {
            var endPoint = host.EndPoints["smtps"];
            await smtp.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, SecureSocketOptions.SslOnConnect);
            Assert.Contains(mechanism, smtp.AuthenticationMechanisms);
            await Assert.ThrowsAsync<AuthenticationException>(() => smtp.AuthenticateAsync(Bearer(mechanism, "alice@example.test", "expired")));
            await smtp.AuthenticateAsync(Bearer(mechanism, "alice@example.test", AliceToken));
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("alice@example.test"));
            message.To.Add(MailboxAddress.Parse("alice@example.test"));
            message.Subject = "sent with a token";
            message.Body = new TextPart("plain") { Text = "bearer" };
            await smtp.SendAsync(message);
            await smtp.DisconnectAsync(quit: true);
        }

        using (var pop3 = Pinned(new Pop3Client(), host))
        {
            var endPoint = host.EndPoints["pop3s"];
            await pop3.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, SecureSocketOptions.SslOnConnect);
            Assert.Contains(mechanism, pop3.AuthenticationMechanisms);
            await Assert.ThrowsAsync<AuthenticationException>(() => pop3.AuthenticateAsync(Bearer(mechanism, "alice@example.test", "expired")));
            await pop3.AuthenticateAsync(Bearer(mechanism, "alice@example.test", AliceToken));
            Assert.Equal(1, pop3.Count);
            await pop3.DisconnectAsync(quit: true);
        }

        using (var imap = Pinned(new ImapClient(), host))
        {
            var endPoint = host.EndPoints["imaps"];
            await imap.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, SecureSocketOptions.SslOnConnect);
            Assert.Contains(mechanism, imap.AuthenticationMechanisms);
            await Assert.ThrowsAsync<AuthenticationException>(() => imap.AuthenticateAsync(Bearer(mechanism, "alice@example.test", "expired")));
            await imap.AuthenticateAsync(Bearer(mechanism, "alice@example.test", AliceToken));
            await imap.Inbox.OpenAsync(FolderAccess.ReadOnly);
            Assert.Equal("sent with a token", (await imap.Inbox.GetMessageAsync(0)).Subject);
            await imap.DisconnectAsync(quit: true);
        }

        Assert.All(validator.Seen, t => Assert.Equal(mechanism, t.Mechanism));
        Assert.All(validator.Seen, t => Assert.Equal("alice@example.test", t.User));
        Assert.Equal(["smtp", "smtp", "pop3", "pop3", "imap", "imap"], validator.Seen.Select(t => t.Protocol));
        await host.StopAsync();
    }

    [Theory]
    [MemberData(nameof(BearerMechanisms))]
    public async Task A_good_token_for_another_user_than_the_one_claimed_is_refused(string mechanism)
    {
        var validator = new OneTokenValidator();
        var options = Options(new SaslMechanismRegistry().AddOAuthBearer(validator).AddXOAuth2(validator));
        options.Users.Add(("mallory@example.test", "mallory"));
        await using var host = new MailHost(options);
        await host.StartAsync();
        using var imap = Pinned(new ImapClient(), host);
        var endPoint = host.EndPoints["imaps"];
        await imap.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, SecureSocketOptions.SslOnConnect);
        await Assert.ThrowsAsync<AuthenticationException>(() => imap.AuthenticateAsync(Bearer(mechanism, "mallory@example.test", AliceToken)));
        Assert.False(imap.IsAuthenticated);
        await imap.AuthenticateAsync(Bearer(mechanism, "alice@example.test", AliceToken));
        await imap.DisconnectAsync(quit: true);
    }

    [Fact]
    public async Task A_refused_token_counts_against_the_login_even_when_the_client_breaks_off_after_the_error()
    {
        var validator = new OneTokenValidator();
        var options = Options(new SaslMechanismRegistry().AddOAuthBearer(validator).AddXOAuth2(validator));
        options.SubmissionPort = 0;
        options.AllowPlaintextAuth = true;
        options.Smtp.FailedAuthDelay = TimeSpan.Zero;
        options.RateLimits = new RateLimits.SessionRateLimits(new RateLimits.SessionRateLimitOptions
        {
            AuthFailuresPerLogin = new RateLimits.RateLimit(2, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)),
        });
        await using var host = new MailHost(options);
        await host.StartAsync();
        var submission = host.EndPoints["submission"];
        var badToken = Convert.ToBase64String(Encoding.ASCII.GetBytes("user=alice@example.test\u0001auth=Bearer stolen\u0001\u0001"));
        for (var i = 0; i < 2; i++)
        {
            using var socket = new System.Net.Sockets.TcpClient();
            await socket.ConnectAsync(submission);
            using var reader = new StreamReader(socket.GetStream(), Encoding.ASCII);
            await using var writer = new StreamWriter(socket.GetStream(), Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
            Assert.StartsWith("220 ", await reader.ReadLineAsync());
            await writer.WriteLineAsync("EHLO client.example.test");
            while ((await reader.ReadLineAsync())!.StartsWith("250-", StringComparison.Ordinal))
            {
            }
            await writer.WriteLineAsync($"AUTH XOAUTH2 {badToken}");
            Assert.StartsWith("334 ", await reader.ReadLineAsync()); // the JSON error
            await writer.WriteLineAsync("not base64!");              // a break-off instead of the empty answer
            Assert.StartsWith("535 ", await reader.ReadLineAsync()); // failed, and counted
        }

        // Two failures lock the login out: even the right token is refused now.
        using var client = new SmtpClient();
        await client.ConnectAsync(submission.Address.ToString(), submission.Port, SecureSocketOptions.None);
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => client.AuthenticateAsync(new SaslMechanismOAuth2("alice@example.test", AliceToken)));
        Assert.Contains("4.7.0", refused.Message, StringComparison.Ordinal);
        Assert.False(client.IsAuthenticated);
    }

    [Fact]
    public async Task A_mechanism_removed_from_the_registry_while_the_server_runs_is_refused_as_unknown()
    {
        var validator = new OneTokenValidator();
        var registry = new SaslMechanismRegistry().AddOAuthBearer(validator).AddXOAuth2(validator);
        await using var host = new MailHost(Options(registry));
        await host.StartAsync();
        Assert.True(registry.Remove(SaslMechanisms.XOAuth2));

        using var smtp = Pinned(new SmtpClient(), host);
        var endPoint = host.EndPoints["smtps"];
        await smtp.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, SecureSocketOptions.SslOnConnect);
        Assert.Contains(SaslMechanisms.XOAuth2, smtp.AuthenticationMechanisms); // offered as the server was built
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => smtp.AuthenticateAsync(new SaslMechanismOAuth2("alice@example.test", AliceToken)));
        Assert.Contains("5.5.4", refused.Message, StringComparison.Ordinal);
        await smtp.AuthenticateAsync(new SaslMechanismOAuthBearer("alice@example.test", AliceToken)); // the session goes on
        await smtp.DisconnectAsync(quit: true);
    }

    [Fact]
    public void A_mechanism_offered_but_not_registered_is_a_setting_error()
    {
        var options = new SmtpServerOptions { ServerName = "mx.example.test" };
        options.AuthMechanisms.Add(SaslMechanisms.XOAuth2);
        var problems = options.FindProblems();
        var problem = Assert.Single(problems);
        Assert.Equal("AuthMechanisms:4", problem.Setting);
        Assert.Contains("unknown SASL mechanism 'XOAUTH2'", problem.Message, StringComparison.Ordinal);

        options.SaslRegistry.AddXOAuth2(new OneTokenValidator());
        Assert.Empty(options.FindProblems());
    }

    // A directory that keeps only password hashes: what most production directories are.
    private sealed class HashOnlyDirectory(IUserDirectory inner) : IUserDirectory
    {
        public ValueTask<MailUser?> FindByLoginAsync(string login, CancellationToken cancellationToken = default) => inner.FindByLoginAsync(login, cancellationToken);
        public ValueTask<MailUser?> FindByAddressAsync(string address, CancellationToken cancellationToken = default) => inner.FindByAddressAsync(address, cancellationToken);
        public ValueTask<bool> VerifyPasswordAsync(MailUser user, string password, CancellationToken cancellationToken = default) => inner.VerifyPasswordAsync(user, password, cancellationToken);
        public ValueTask<string?> GetSharedSecretAsync(MailUser user, CancellationToken cancellationToken = default) => ValueTask.FromResult<string?>(null);
        public ValueTask<ScramCredential?> GetScramCredentialAsync(MailUser user, CancellationToken cancellationToken = default) => inner.GetScramCredentialAsync(user, cancellationToken);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CRAM_MD5_and_APOP_are_offered_only_by_a_directory_with_clear_text_secrets(bool clearText)
    {
        var users = new InMemoryUserDirectory();
        users.AddUser("alice@example.test", "alice");
        IUserDirectory directory = clearText ? users : new HashOnlyDirectory(users);
        var store = new InMemoryMailboxStore();
        var any = new IPEndPoint(IPAddress.Loopback, 0);
        await using var smtp = new SmtpServer(new SmtpServerOptions { ServerName = "mx.example.test", AllowPlaintextAuth = true },
            new SmtpServices(store, new InMemoryMessageQueue(), directory, new Policy.DefaultRecipientPolicy(new Policy.RecipientPolicyOptions(), directory)),
            [new SmtpEndpoint(any, SmtpRole.Submission)]);
        await using var pop3 = new Pop3Server(new Pop3ServerOptions { ServerName = "mx.example.test", AllowPlaintextAuth = true, EnableApop = true },
            new Pop3Services(store, directory), [new Pop3Endpoint(any)]);
        await using var imap = new ImapServer(new ImapServerOptions { ServerName = "mx.example.test", AllowPlaintextAuth = true },
            new ImapServices(store, directory), [new ImapEndpoint(any)]);
        await smtp.StartAsync();
        await pop3.StartAsync();
        await imap.StartAsync();
        string[] others = [SaslMechanisms.ScramSha256, SaslMechanisms.Plain, SaslMechanisms.Login];

        using var smtpClient = new SmtpClient();
        await smtpClient.ConnectAsync("127.0.0.1", smtp.BoundEndPoints[0].Port, SecureSocketOptions.None);
        Assert.Equal(clearText, smtpClient.AuthenticationMechanisms.Contains(SaslMechanisms.CramMd5));
        Assert.Superset(others.ToHashSet(), smtpClient.AuthenticationMechanisms.ToHashSet());
        await smtpClient.AuthenticateAsync("alice@example.test", "alice"); // MailKit picks the strongest offered: SCRAM-SHA-256
        await smtpClient.DisconnectAsync(quit: true);

        using var pop3Client = new Pop3Client();
        await pop3Client.ConnectAsync("127.0.0.1", pop3.BoundEndPoints[0].Port, SecureSocketOptions.None);
        Assert.Equal(clearText, pop3Client.AuthenticationMechanisms.Contains(SaslMechanisms.CramMd5));
        Assert.Equal(clearText, pop3Client.Capabilities.HasFlag(Pop3Capabilities.Apop));
        await pop3Client.AuthenticateAsync("alice@example.test", "alice");
        await pop3Client.DisconnectAsync(quit: true);

        using var imapClient = new ImapClient();
        await imapClient.ConnectAsync("127.0.0.1", imap.BoundEndPoints[0].Port, SecureSocketOptions.None);
        Assert.Equal(clearText, imapClient.AuthenticationMechanisms.Contains(SaslMechanisms.CramMd5));
        Assert.Superset(others.ToHashSet(), imapClient.AuthenticationMechanisms.ToHashSet());
        await imapClient.AuthenticateAsync("alice@example.test", "alice");
        await imapClient.DisconnectAsync(quit: true);
    }
}
