using Mail.Protocols.Addressing;
using Mail.Protocols.Connections;
using Mail.Protocols.Hosting.Health;
using Mail.Protocols.Hosting.HostedServices;
using Mail.Protocols.Maildir;
using Mail.Protocols.Maildir.Queue;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Dns;
using Mail.Protocols.Storage;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>
/// The backends from configuration (users, aliases, SRS, the Maildir store and the file queue, the name servers) and
/// listeners switched off: what samples/MailHost registers, driven by MailKit over real sockets.
/// </summary>
public sealed class BackendConfigurationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mp-hosting-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private Dictionary<string, string?> Settings()
    {
        var usersFile = Path.Combine(_directory, "users.txt");
        File.WriteAllText(usersFile, "# more users\n\nbob@example.test:bob-secret\n");
        var secretFile = Path.Combine(_directory, "srs.key");
        File.WriteAllText(secretFile, "0123456789abcdef0123\n");
        var settings = TestHost.Settings();
        settings["Mail:Users:Accounts:0:Address"] = TestHost.Alice;
        settings["Mail:Users:Accounts:0:Password"] = TestHost.AlicePassword;
        settings["Mail:Users:Accounts:0:Aliases:0"] = "alice.liddell@example.test";
        settings["Mail:Users:File"] = usersFile;
        settings["Mail:AddressBook:Aliases:0:Address"] = "team@example.test";
        settings["Mail:AddressBook:Aliases:0:Targets:0"] = TestHost.Alice;
        settings["Mail:AddressBook:Aliases:0:Targets:1"] = "bob@example.test";
        settings["Mail:AddressBook:CatchAlls:0:Domain"] = "example.test";
        settings["Mail:AddressBook:CatchAlls:0:Targets:0"] = "bob@example.test";
        settings["Mail:SenderRewriting:Domain"] = "example.test";
        settings["Mail:SenderRewriting:SecretFile"] = secretFile;
        settings["Mail:Maildir:RootPath"] = Path.Combine(_directory, "mail");
        settings["Mail:QueueDirectory:Path"] = Path.Combine(_directory, "queue");
        settings["Mail:Delivery:NameServers:0"] = "127.0.0.1:5353";
        settings["Mail:Delivery:NameServers:1"] = "2001:db8::53";
        return settings;
    }

    [Fact]
    public async Task Users_aliases_maildir_and_queue_directory_from_configuration_serve_mail()
    {
        var ct = TestHost.Timeout();
        using var host = TestHost.Build(Settings(), delivery: false);
        await host.StartAsync(ct);
        Assert.IsType<MaildirMailboxStore>(host.Services.GetRequiredService<IMailboxStore>());
        Assert.IsType<FileMessageQueue>(host.Services.GetRequiredService<IMessageQueue>());
        var smtp = host.Services.GetRequiredService<SmtpServerService>();
        var pop3 = host.Services.GetRequiredService<Pop3ServerService>();
        var certificate = host.Services.GetRequiredService<MailTlsOptions>().Certificate;

        // To the alias (both users), to a user's further address, and to an unknown address (the catch-all: bob).
        foreach (var to in new[] { "team@example.test", "alice.liddell@example.test", "nobody-here@example.test" })
        {
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("writer@example.org"));
            message.To.Add(MailboxAddress.Parse(to));
            message.Subject = "to " + to;
            message.Body = new TextPart("plain") { Text = "From configuration." };
            using var client = new SmtpClient();
            client.ServerCertificateValidationCallback = PinnedCertificate.Callback(certificate);
            await client.ConnectAsync("127.0.0.1", smtp.EndPoints["smtp"].Port, SecureSocketOptions.StartTls, ct);
            await client.SendAsync(message, ct);
            await client.DisconnectAsync(true, ct);
        }
        // Mail for another domain, submitted by a user from the file, waits in the queue directory (no delivery agent).
        using (var client = new SmtpClient())
        {
            client.ServerCertificateValidationCallback = PinnedCertificate.Callback(certificate);
            await client.ConnectAsync("127.0.0.1", smtp.EndPoints["submission"].Port, SecureSocketOptions.StartTls, ct);
            await client.AuthenticateAsync("bob@example.test", "bob-secret", ct);
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("bob@example.test"));
            message.To.Add(MailboxAddress.Parse("carol@example.org"));
            message.Subject = "outbound";
            message.Body = new TextPart("plain") { Text = "Queued." };
            await client.SendAsync(message, ct);
            await client.DisconnectAsync(true, ct);
        }

        Assert.Equal(["to alice.liddell@example.test", "to team@example.test"], await SubjectsAsync(pop3, certificate, TestHost.Alice, TestHost.AlicePassword, ct));
        Assert.Equal(["to nobody-here@example.test", "to team@example.test"], await SubjectsAsync(pop3, certificate, "bob@example.test", "bob-secret", ct));
        // In Maildir++ files under the configured root, and the outbound message in the queue directory.
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_directory, "mail"), "*", SearchOption.AllDirectories));
        var queue = host.Services.GetRequiredService<IMessageQueue>();
        Assert.Equal(1, await queue.CountAsync(ct));
        await host.StopAsync(ct);
    }

    [Fact]
    public void Sender_rewriting_and_name_servers_come_from_configuration()
    {
        using var host = TestHost.Build(Settings());
        var rewriter = host.Services.GetRequiredService<SenderRewriter>();
        Assert.Equal("example.test", rewriter.Domain);
        // The secret is the file's octets less the final line end.
        Assert.Equal("0123456789abcdef0123"u8.ToArray(), host.Services.GetRequiredService<IOptions<SenderRewritingOptions>>().Value.Secret);
        Assert.IsType<DnsClientResolver>(host.Services.GetRequiredService<Dns.IDnsResolver>());
        var settings = host.Services.GetRequiredService<IOptions<Configuration.DeliverySettings>>().Value;
        Assert.Equal([new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 5353), new System.Net.IPEndPoint(System.Net.IPAddress.Parse("2001:db8::53"), 53)],
            settings.NameServers.Select(text => Configuration.DeliverySettings.ParseNameServer(text)));
    }

    public static TheoryData<string, string?, string> BadSettings => new()
    {
        { "Mail:Users:Accounts:0:Address", "alice", "Mail:Users:Accounts:0: an account needs an address" },
        { "Mail:Users:Accounts:0:Password", null, "Mail:Users:Accounts:0: the account 'alice@example.test' needs a password" },
        { "Mail:Users:Accounts:0:Aliases:0", "bob@example.test", "Mail:Users:File: " },
        { "Mail:Users:File", "/nonexistent/users.txt", "Mail:Users:File: cannot read '/nonexistent/users.txt'" },
        { "Mail:Users:Acounts:0:Address", "x@example.test", "Mail:Users:Acounts:0:Address: there is no such setting" },
        { "Mail:AddressBook:Aliases:0:Address", "team", "Mail:AddressBook:Aliases:0: An alias is local@domain" },
        { "Mail:AddressBook:CatchAlls:0:Targets:0", null, "Mail:AddressBook:CatchAlls:0: Targets needs at least one address" },
        { "Mail:AddressBook:VirtualAliasFile", "/nonexistent/virtual", "Mail:AddressBook:VirtualAliasFile:" },
        { "Mail:SenderRewriting:SecretFile", "/nonexistent/srs.key", "Mail:SenderRewriting:SecretFile: cannot read" },
        { "Mail:SenderRewriting:Domain", "elsewhere.example", "Mail:SenderRewriting:Domain: 'elsewhere.example' must be one of the local domains" },
        { "Mail:SenderRewriting:Secret", "c2VjcmV0", "Mail:SenderRewriting:Secret: cannot be given as text" },
        { "Mail:Maildir:RootPath", "", "Mail:Maildir:RootPath: the directory the mailboxes live under is needed" },
        { "Mail:Maildir:LoggerFactory", "console", "Mail:Maildir:LoggerFactory: cannot be given as text" },
        { "Mail:QueueDirectory:Fsync", "sometimes", "Mail:QueueDirectory:Fsync" },
        { "Mail:Delivery:NameServers:0", "dns.example", "Mail:Delivery:NameServers:0: 'dns.example' is not an IP address" },
        { "Mail:Delivery:NameServers:1", "8.8", "Mail:Delivery:NameServers:1: '8.8' is not an IP address" },
        { "Mail:SenderRewriting:RetiredSecretFiles:0", "/nonexistent/old.key", "Mail:SenderRewriting:RetiredSecretFiles:0: cannot read" },
        { "Mail:SenderRewriting:SecretFile", "", "Mail:SenderRewriting:SecretFile: the file holding the secret is needed" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task Bad_backend_setting_fails_the_start_naming_the_setting(string key, string? value, string named)
    {
        var settings = Settings();
        settings[key] = value;
        if (value is null)
        {
            settings.Remove(key);
        }
        var failure = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using var host = TestHost.Build(settings);
            await host.StartAsync(TestHost.Timeout());
        });
        Assert.Contains(TestHost.Messages(failure), message => message.StartsWith(named, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Users_file_line_that_is_not_address_and_password_is_named_by_its_number_not_echoed()
    {
        var settings = Settings();
        File.WriteAllText(settings["Mail:Users:File"]!, "bob@example.test:bob-secret\ncarol@example.test hunter2\n");
        var failure = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using var host = TestHost.Build(settings);
            await host.StartAsync(TestHost.Timeout());
        });
        var message = Assert.Single(TestHost.Messages(failure), message => message.StartsWith("Mail:Users:File:", StringComparison.Ordinal));
        Assert.EndsWith("line 2 is not address:password.", message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Blank_file_settings_mean_no_file()
    {
        var settings = Settings();
        settings["Mail:Users:File"] = "";
        settings["Mail:AddressBook:VirtualAliasFile"] = " ";
        using var host = TestHost.Build(settings, delivery: false);
        await host.StartAsync(TestHost.Timeout());
        Assert.Equal([TestHost.Alice], host.Services.GetRequiredService<InMemory.InMemoryUserDirectory>().Users.Select(user => user.Login));
        await host.StopAsync(TestHost.Timeout());
    }

    [Fact]
    public async Task Listener_switched_off_is_not_bound_and_a_server_with_every_listener_off_does_not_start()
    {
        var ct = TestHost.Timeout();
        var settings = TestHost.Settings();
        settings["Mail:Smtp:Listeners:1:Enabled"] = "false";
        settings["Mail:Pop3:Listeners:0:Enabled"] = "false";
        settings["Mail:Pop3:Listeners:1:Enabled"] = "false";
        settings.Remove("Mail:Smtp:Listeners:1:Port"); // a listener that is off needs no port
        using var host = TestHost.Build(settings, services: services => services.AddHealthChecks().AddMailChecks());
        await host.StartAsync(ct);
        var smtp = host.Services.GetRequiredService<SmtpServerService>();
        Assert.Equal(["smtp", "smtps"], smtp.EndPoints.Keys.Order());
        var pop3 = host.Services.GetRequiredService<Pop3ServerService>();
        Assert.True(pop3.IsSwitchedOff);
        Assert.Null(pop3.Server);
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(ct);
        Assert.Equal(HealthStatus.Healthy, report.Entries["mail-listeners"].Status);
        await host.StopAsync(ct);
    }

    private static async Task<List<string>> SubjectsAsync(Pop3ServerService pop3, System.Security.Cryptography.X509Certificates.X509Certificate2 certificate,
        string user, string password, CancellationToken ct)
    {
        using var client = new Pop3Client();
        client.ServerCertificateValidationCallback = PinnedCertificate.Callback(certificate);
        await client.ConnectAsync("127.0.0.1", pop3.EndPoints["pop3"].Port, SecureSocketOptions.StartTls, ct);
        await client.AuthenticateAsync(user, password, ct);
        var subjects = new List<string>();
        for (var i = 0; i < client.Count; i++)
        {
            subjects.Add((await client.GetMessageAsync(i, ct)).Subject ?? "");
        }
        await client.DisconnectAsync(true, ct);
        subjects.Sort(StringComparer.Ordinal);
        return subjects;
    }
}
