using Mail.Protocols.Imap;
using Mail.Protocols.Smtp.Delivery;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>MailHost completes its servers' settings in copies: the options a caller passed in stay as they were.</summary>
public sealed class MailHostOptionsTests
{
    private static MailHostOptions Options()
    {
        var options = new MailHostOptions
        {
            SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = 0, Pop3sPort = null, ImapPort = 0, ImapsPort = null,
            ServerName = "mx.example.test", AllowPlaintextAuth = true, Delivery = new DeliveryAgentOptions(),
        };
        options.Users.Add(("alice@example.test", "alice"));
        options.Smtp.MaxMessageSize = 1_048_576;
        options.Smtp.Limits.MaxConnectionsPerAddress = 7;
        options.Smtp.AuthMechanisms.Remove("LOGIN");
        options.Delivery.Client.TrustedCertificates.Clear();
        return options;
    }

    [Fact]
    public async Task Host_leaves_the_options_it_was_given_unchanged_and_runs_on_copies_of_them()
    {
        var options = Options();
        await using var host = new MailHost(options);
        await host.StartAsync();

        // What the caller set reached the servers...
        Assert.Equal(1_048_576, host.ServerOptions.Smtp.MaxMessageSize);
        Assert.Equal(7, host.ServerOptions.Smtp.Limits.MaxConnectionsPerAddress);
        Assert.DoesNotContain("LOGIN", host.ServerOptions.Smtp.AuthMechanisms);
        Assert.Equal("mx.example.test", host.ServerOptions.Imap.ServerName);
        Assert.NotNull(host.ServerOptions.Pop3.Tls);
        Assert.NotEmpty(host.ServerOptions.Imap.FoldersAtLogin);
        // ...and what the host filled in did not reach the caller's objects.
        Assert.NotSame(options.Smtp, host.ServerOptions.Smtp);
        Assert.NotSame(options.Smtp.Limits, host.ServerOptions.Smtp.Limits);
        Assert.Null(options.Smtp.Tls);
        Assert.Null(options.Pop3.Tls);
        Assert.False(options.Smtp.AllowPlaintextAuth);
        Assert.Equal(Environment.MachineName, options.Imap.ServerName);
        Assert.Empty(options.Imap.FoldersAtLogin);
        Assert.Equal(Environment.MachineName, options.Delivery!.ServerName);
        Assert.Equal("mx.example.test", host.ServerOptions.Delivery!.ServerName);
        // A group of settings with a setter is copied too: a change for another host does not reach this one.
        options.Delivery.Client.GreetingTimeout = TimeSpan.FromSeconds(1);
        Assert.NotEqual(TimeSpan.FromSeconds(1), host.ServerOptions.Delivery.Client.GreetingTimeout);
        await host.StopAsync();
    }

    [Fact]
    public async Task One_options_object_sets_up_two_hosts()
    {
        var options = Options();
        await using var first = new MailHost(options);
        await using var second = new MailHost(options);
        await first.StartAsync();
        await second.StartAsync();
        Assert.NotEqual(first.EndPoints["smtp"], second.EndPoints["smtp"]);
        // Each host's IMAP server made its own list of folders (the same five, not ten).
        Assert.Equal(first.ServerOptions.Imap.FoldersAtLogin, second.ServerOptions.Imap.FoldersAtLogin);
        Assert.Equal(ImapFolderCount(first), ImapFolderCount(second));
        await first.StopAsync();
        await second.StopAsync();
    }

    private static int ImapFolderCount(MailHost host) => host.ServerOptions.Imap.FoldersAtLogin.Count;
}
