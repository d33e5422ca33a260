using Mail.Protocols.Addressing;
using Mail.Protocols.Connections;
using Mail.Protocols.Hosting.HostedServices;
using Mail.Protocols.InMemory;
using Mail.Protocols.Policy;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MailHostSample;

/// <summary>What a first run shows: where each server listens and what the host was set up with.</summary>
internal static class StartupBanner
{
    public static void Print(IServiceProvider services, IConfiguration configuration, SampleSettings sample)
    {
        var mail = configuration.GetSection("Mail");
        // The database by host and name only: its connection string may hold a password.
        var database = mail["PostgreSql:ConnectionString"] is { Length: > 0 } connectionString
            && new Npgsql.NpgsqlConnectionStringBuilder(connectionString) is var parts ? $"postgres:{parts.Host}/{parts.Database}" : "";
        var store = mail.GetValue<bool>("PostgreSql:MailboxStore") ? database
            : string.IsNullOrEmpty(mail["Maildir:RootPath"]) ? "memory" : "maildir:" + mail["Maildir:RootPath"];
        var queue = mail.GetValue<bool>("PostgreSql:MessageQueue") ? database
            : string.IsNullOrEmpty(mail["QueueDirectory:Path"]) ? "memory" : "dir:" + mail["QueueDirectory:Path"];
        Console.WriteLine($"Mail.Protocols MailHost is running (store {store}, queue {queue}):");
        foreach (var endPoints in new[]
        {
            services.GetRequiredService<SmtpServerService>().EndPoints,
            services.GetRequiredService<Pop3ServerService>().EndPoints,
            services.GetRequiredService<ImapServerService>().EndPoints,
        })
        {
            foreach (var (name, endPoint) in endPoints)
            {
                Console.WriteLine($"  {name,-11} {endPoint}");
            }
        }
        var policy = services.GetRequiredService<IOptions<RecipientPolicyOptions>>().Value;
        var users = services.GetRequiredService<InMemoryUserDirectory>().Users.Select(user => Mail.Protocols.Telemetry.PersonalData.ForLog(user.Login)).Order(StringComparer.Ordinal).ToList();
        Console.WriteLine($"  domains     {string.Join(", ", policy.LocalDomains)}");
        Console.WriteLine($"  users       {users.Count} ({string.Join(", ", users.Take(5))}{(users.Count > 5 ? ", ..." : "")}); postmaster {Mail.Protocols.Telemetry.PersonalData.ForLog(policy.PostmasterLogin)}");
        if (services.GetService<IAddressBook>() is InMemoryAddressBook aliases && aliases.Count > 0)
        {
            Console.WriteLine($"  aliases     {aliases.Count} (aliases, lists and catch-alls)");
        }
        Console.WriteLine($"  subaddress  {(policy.Addressing.SubaddressSeparator is { } separator ? $"user{separator}tag@" : "off")}");
        Console.WriteLine($"  forwards    {(services.GetService<SenderRewriter>() is { } srs ? $"sent from SRS addresses of {srs.Domain}" : "keep the writer's sender (no SRS)")}");
        var smtp = services.GetRequiredService<IOptions<Mail.Protocols.Smtp.SmtpServerOptions>>().Value;
        Console.WriteLine($"  plaintext AUTH {(smtp.AllowPlaintextAuth ? "allowed" : "only after STARTTLS")}; certificate {services.GetRequiredService<MailTlsOptions>().Certificate.Subject}");
        var smartHost = mail["Delivery:SmartHost"];
        Console.WriteLine(!sample.DeliverOutbound ? "  outbound    kept in the queue (--no-delivery)"
            : !string.IsNullOrEmpty(smartHost) ? $"  outbound    through {smartHost}"
            : $"  outbound    delivered by MX lookup, port {mail["Delivery:Port"] ?? "25"}");
        Console.WriteLine("Press Ctrl+C to stop.");
    }
}
