using System.Net;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mail.Protocols.Imap;
using Mail.Protocols.InMemory;
using Mail.Protocols.PostgreSql.Schema;
using Mail.Protocols.PostgreSql.Users;
using Mail.Protocols.Sasl;
using Mail.Protocols.Smtp;
using Npgsql;

namespace Mail.Protocols.PostgreSql.Tests;

/// <summary>The users table: lookups as the engines make them, passwords checked against the salted credential, and real logins.</summary>
public sealed class PostgreSqlUserDirectoryTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private async Task<(NpgsqlDataSource Source, PostgreSqlUserDirectory Directory)> DirectoryAsync()
    {
        var source = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());
        await PostgreSqlSchema.ApplyAsync(source);
        return (source, new PostgreSqlUserDirectory(source));
    }

    [Fact]
    public async Task Users_are_found_by_any_spelling_of_their_login_and_by_every_address_in_either_domain_form()
    {
        var (source, directory) = await DirectoryAsync();
        await using var _ = source;
        await directory.AddUserAsync("Kate@example.test", "secret", ["k@bücher.example"]);

        Assert.Equal("Kate@example.test", (await directory.FindByLoginAsync("kate@EXAMPLE.test"))!.Login);
        Assert.Equal("Kate@example.test", (await directory.FindByLoginAsync("\u212Aate@example.test"))!.Login); // Kelvin sign: NFKC K
        Assert.Equal(["Kate@example.test", "k@bücher.example"], (await directory.FindByAddressAsync("K@xn--bcher-kva.example"))!.Addresses);
        Assert.Null(await directory.FindByAddressAsync("nobody@example.test"));
        Assert.Null(await directory.FindByLoginAsync("k@bücher.example")); // an address, not a login
        await Assert.ThrowsAsync<ArgumentException>(() => directory.AddUserAsync("KATE@example.test", "other"));
        await Assert.ThrowsAsync<ArgumentException>(() => directory.AddUserAsync("bob@example.test", "bob", ["K@bücher.example"]));
        Assert.Null(await directory.FindByLoginAsync("bob@example.test")); // the refused user was not half added
    }

    [Fact]
    public async Task A_password_is_checked_against_the_salted_credential_and_no_clear_text_is_kept()
    {
        var (source, directory) = await DirectoryAsync();
        await using var _ = source;
        var user = await directory.AddUserAsync("alice@example.test", "correct horse");

        Assert.True(await directory.VerifyPasswordAsync(user, "correct horse"));
        Assert.False(await directory.VerifyPasswordAsync(user, "correct horsf"));
        Assert.Null(await directory.GetSharedSecretAsync(user));
        Assert.False(((Mail.Protocols.Users.IUserDirectory)directory).HasSharedSecrets);
        await using (var columns = source.CreateCommand("SELECT count(*) FROM information_schema.columns WHERE table_name = 'mail_users' AND column_name LIKE '%password%'"))
        {
            Assert.Equal(0L, await columns.ExecuteScalarAsync());
        }
        var first = (await directory.GetScramCredentialAsync(user))!;
        await directory.AddUserAsync("alice@example.test", "new password"); // replaced: a new salt too
        Assert.False(await directory.VerifyPasswordAsync(user, "correct horse"));
        Assert.True(await directory.VerifyPasswordAsync(user, "new password"));
        Assert.NotEqual(first.Salt, (await directory.GetScramCredentialAsync(user))!.Salt);
        Assert.True(await directory.RemoveUserAsync("alice@example.test"));
        Assert.Null(await directory.FindByAddressAsync("alice@example.test"));
    }

    [Fact]
    public async Task MailKit_logs_in_with_SCRAM_SHA_256_over_IMAP_and_with_PLAIN_over_SMTP()
    {
        var (source, directory) = await DirectoryAsync();
        await using var _ = source;
        await directory.AddUserAsync("alice@example.test", "wonderland");
        var any = new IPEndPoint(IPAddress.Loopback, 0);
        await using var imap = new ImapServer(new ImapServerOptions { ServerName = "mx.example.test", AllowPlaintextAuth = true },
            new ImapServices(new InMemoryMailboxStore(), directory), [new ImapEndpoint(any)]);
        await using var smtp = new SmtpServer(new SmtpServerOptions { ServerName = "mx.example.test", AllowPlaintextAuth = true },
            new SmtpServices(new InMemoryMailboxStore(), new InMemoryMessageQueue(), directory, new Policy.DefaultRecipientPolicy(new Policy.RecipientPolicyOptions(), directory)),
            [new SmtpEndpoint(any, SmtpRole.Submission)]);
        await imap.StartAsync();
        await smtp.StartAsync();

        using (var client = new ImapClient())
        {
            await client.ConnectAsync("127.0.0.1", imap.BoundEndPoints[0].Port, SecureSocketOptions.None);
            Assert.DoesNotContain(SaslMechanisms.CramMd5, client.AuthenticationMechanisms); // no clear-text secrets here
            await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismScramSha256("alice@example.test", "wrong")));
            await client.AuthenticateAsync(new SaslMechanismScramSha256("alice@example.test", "wonderland"));
            Assert.True(client.IsAuthenticated);
            await client.DisconnectAsync(quit: true);
        }
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync("127.0.0.1", smtp.BoundEndPoints[0].Port, SecureSocketOptions.None);
            await client.AuthenticateAsync(new SaslMechanismPlain("alice@example.test", "wonderland"));
            Assert.True(client.IsAuthenticated);
            await client.DisconnectAsync(quit: true);
        }
    }
}
