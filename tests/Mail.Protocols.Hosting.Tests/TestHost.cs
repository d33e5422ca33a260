using Mail.Protocols.InMemory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>
/// A Generic Host built the way an application builds one: settings from configuration (here an in-memory collection
/// standing in for appsettings.json), the in-memory backends, and every server and the agent registered from it.
/// </summary>
internal static class TestHost
{
    public const string Alice = "alice@example.test";
    public const string AlicePassword = "alice-secret";

    /// <summary>Every server on a free loopback port, plain and implicit TLS, a generated certificate, plaintext AUTH refused.</summary>
    public static Dictionary<string, string?> Settings() => new()
    {
        ["Mail:Policy:LocalDomains:0"] = "example.test",
        ["Mail:Policy:PostmasterLogin"] = Alice,
        ["Mail:Tls:SelfSigned"] = "true",
        ["Mail:Smtp:ServerName"] = "mx.example.test",
        ["Mail:Smtp:Listeners:0:Port"] = "0",
        ["Mail:Smtp:Listeners:1:Port"] = "0",
        ["Mail:Smtp:Listeners:1:Role"] = "Submission",
        ["Mail:Smtp:Listeners:2:Port"] = "0",
        ["Mail:Smtp:Listeners:2:Role"] = "Submission",
        ["Mail:Smtp:Listeners:2:ImplicitTls"] = "true",
        ["Mail:Pop3:ServerName"] = "mx.example.test",
        ["Mail:Pop3:Listeners:0:Port"] = "0",
        ["Mail:Pop3:Listeners:1:Port"] = "0",
        ["Mail:Pop3:Listeners:1:ImplicitTls"] = "true",
        ["Mail:Imap:ServerName"] = "mx.example.test",
        ["Mail:Imap:Listeners:0:Port"] = "0",
        ["Mail:Imap:Listeners:1:Port"] = "0",
        ["Mail:Imap:Listeners:1:ImplicitTls"] = "true",
        ["Mail:Delivery:ServerName"] = "mx.example.test",
        ["Mail:Delivery:PollInterval"] = "00:00:00.200",
    };

    /// <summary>Builds (not starts) the host from <paramref name="settings"/>; <paramref name="services"/> registers services before the mail ones.</summary>
    public static IHost Build(Dictionary<string, string?> settings, bool delivery = true, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        var mail = builder.Configuration.GetSection("Mail");
        services?.Invoke(builder.Services);
        builder.Services
            .AddInMemoryMailBackends()
            .AddRecipientPolicy(mail.GetSection("Policy"))
            .AddSmtpServer(mail.GetSection("Smtp"))
            .AddPop3Server(mail.GetSection("Pop3"))
            .AddImapServer(mail.GetSection("Imap"));
        // The backends from configuration, as samples/MailHost registers them, when their sections are there.
        if (mail.GetSection("Users").Exists())
        {
            builder.Services.AddInMemoryUsers(mail.GetSection("Users"));
        }
        if (mail.GetSection("AddressBook").Exists())
        {
            builder.Services.AddMailAddressBook(mail.GetSection("AddressBook"));
        }
        if (mail.GetSection("SenderRewriting").Exists())
        {
            builder.Services.AddSenderRewriting(mail.GetSection("SenderRewriting"));
        }
        if (mail.GetSection("Maildir").Exists())
        {
            builder.Services.AddMaildirStore(mail.GetSection("Maildir"));
        }
        if (mail.GetSection("QueueDirectory").Exists())
        {
            builder.Services.AddFileMessageQueue(mail.GetSection("QueueDirectory"));
        }
        if (mail.GetSection("Tls").Exists())
        {
            builder.Services.AddMailTls(mail.GetSection("Tls"));
        }
        if (delivery)
        {
            builder.Services.AddMailDelivery(mail.GetSection("Delivery"));
        }
        var host = builder.Build();
        if (!mail.GetSection("Users").Exists())
        {
            host.Services.GetRequiredService<InMemoryUserDirectory>().AddUser(Alice, AlicePassword);
        }
        return host;
    }

    /// <summary>Every message of a failed start: the options' validation failures, or the exception's own.</summary>
    public static List<string> Messages(Exception failure) => failure switch
    {
        AggregateException aggregate => [.. aggregate.InnerExceptions.SelectMany(Messages)],
        Microsoft.Extensions.Options.OptionsValidationException validation => [.. validation.Failures],
        _ => [failure.Message],
    };

    /// <summary>A safety net for a test that would otherwise hang; never a measurement.</summary>
    public static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;
}
