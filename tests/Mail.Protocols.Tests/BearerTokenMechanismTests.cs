using System.Text;
using Mail.Protocols.InMemory;
using Mail.Protocols.Sasl;
using Mail.Protocols.Users;

namespace Mail.Protocols.Tests;

/// <summary>
/// OAUTHBEARER (RFC 7628) and XOAUTH2 as the server sees them, message by message, and the registry that holds them.
/// </summary>
public class BearerTokenMechanismTests
{
    private sealed class Validator : IOAuthTokenValidator
    {
        public OAuthToken? Last { get; private set; }

        public ValueTask<string?> ValidateAsync(OAuthToken token, CancellationToken cancellationToken = default)
        {
            Last = token;
            return ValueTask.FromResult(token.Token switch
            {
                "good" => "user@example.test",
                "nobody" => "ghost@example.test", // valid, but for a login the directory does not know
                _ => (string?)null,
            });
        }
    }

    private readonly Validator _validator = new();

    private SaslMechanism Create(string name, string protocol = "imap")
    {
        var users = new InMemoryUserDirectory();
        users.AddUser("user@example.test", "pencil", "alias@example.test");
        var registry = new SaslMechanismRegistry().AddOAuthBearer(_validator, scope: "mail", openIdConfiguration: new Uri("https://id.example.test/.well-known/openid-configuration"))
            .AddXOAuth2(_validator);
        return registry.Create(name, new SaslContext(users, "mx.example.test", TimeProvider.System, default, protocol))!;
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text.Replace("^A", "\u0001", StringComparison.Ordinal));

    [Theory]
    [InlineData("n,a=user@example.test,^Ahost=mx.example.test^Aport=993^Aauth=Bearer good^A^A", "user@example.test")]
    [InlineData("n,,^Aauth=Bearer good^A^A", null)]
    [InlineData("y,a=alias@example.test,^Aauth=bearer   good^A^A", "alias@example.test")]
    public async Task OAuthBearer_accepts_a_valid_token_with_or_without_an_identity_that_is_the_users(string message, string? claimed)
    {
        var step = await Create(SaslMechanisms.OAuthBearer).StartAsync(Bytes(message));
        Assert.Equal(SaslStepKind.Success, step.Kind);
        Assert.Equal("user@example.test", step.User!.Login);
        Assert.Equal(new OAuthToken("OAUTHBEARER", "good", claimed, "imap"), _validator.Last);
    }

    [Fact]
    public async Task OAuthBearer_without_an_initial_response_asks_for_the_message_with_an_empty_challenge()
    {
        var mechanism = Create(SaslMechanisms.OAuthBearer);
        var first = await mechanism.StartAsync(null);
        Assert.Equal(SaslStepKind.Challenge, first.Kind);
        Assert.Empty(first.Data!);
        var step = await mechanism.StepAsync(Bytes("n,,^Aauth=Bearer good^A^A"));
        Assert.Equal(SaslStepKind.Success, step.Kind);
    }

    [Theory]
    [InlineData("bad", "user@example.test")]     // the application refuses the token
    [InlineData("nobody", "ghost@example.test")] // a token for a login the directory does not have
    [InlineData("good", "other@example.test")]  // a good token, claimed for someone else
    public async Task OAuthBearer_answers_a_refused_token_with_the_error_challenge_then_fails(string token, string claimed)
    {
        var mechanism = Create(SaslMechanisms.OAuthBearer);
        var step = await mechanism.StartAsync(Bytes($"n,a={claimed},^Aauth=Bearer {token}^A^A"));
        Assert.Equal(SaslStepKind.Failure, step.Kind);
        Assert.False(step.IsMalformed);
        Assert.Equal("""{"status":"invalid_token","scope":"mail","openid-configuration":"https://id.example.test/.well-known/openid-configuration"}""",
            Encoding.UTF8.GetString(step.Data!));

        // The exchange sends the error as a challenge and fails, whether the client answers with %x01 or breaks off.
        foreach (byte[]? answer in new[] { new byte[] { 0x01 }, null })
        {
            var challenges = new List<string>();
            var end = await SaslExchange.RunAsync(Create(SaslMechanisms.OAuthBearer), Bytes($"n,a={claimed},^Aauth=Bearer {token}^A^A"), c =>
            {
                challenges.Add(Encoding.UTF8.GetString(c));
                return ValueTask.FromResult(answer);
            });
            Assert.Equal(SaslStepKind.Failure, end!.Value.Kind);
            Assert.StartsWith("{\"status\":\"invalid_token\"", Assert.Single(challenges), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(SaslMechanisms.OAuthBearer, "n,,^Aauth=Bearer bad^A^A")]
    [InlineData(SaslMechanisms.XOAuth2, "user=user@example.test^Aauth=Bearer bad^A^A")]
    public async Task Without_failure_data_as_over_POP3_a_refused_token_fails_at_once_without_the_error_challenge(string name, string message)
    {
        var challenges = 0;
        var end = await SaslExchange.RunAsync(Create(name, "pop3"), Bytes(message), _ =>
        {
            challenges++;
            return ValueTask.FromResult<byte[]?>([0x01]);
        }, sendFailureData: false);

        Assert.Equal(SaslStepKind.Failure, end!.Value.Kind);
        Assert.False(end.Value.IsMalformed);
        Assert.Equal(0, challenges);
    }

    [Theory]
    [InlineData("n,,^Aauth=Bearer good^A")]            // one ^A short at the end
    [InlineData("p=tls-unique,,^Aauth=Bearer good^A^A")] // channel binding is not defined for OAUTHBEARER
    [InlineData("n,user,^Aauth=Bearer good^A^A")]        // an identity without a=
    [InlineData("n,,^Ahost=a^Ahost=b^Aauth=Bearer good^A^A")] // a key twice
    [InlineData("n,,^Ahost2=a^Aauth=Bearer good^A^A")]   // keys are letters only
    [InlineData("n,,^Aauth=Basic dXNlcjpwZW5jaWw=^A^A")] // not a bearer token
    [InlineData("n,,^Aauth=Bearer ^A^A")]                // no token
    [InlineData("n,,^A^A")]
    [InlineData("")]
    public async Task OAuthBearer_refuses_a_malformed_message_without_asking_the_application(string message)
    {
        var step = await Create(SaslMechanisms.OAuthBearer).StartAsync(Bytes(message));
        Assert.Equal(SaslStepKind.Failure, step.Kind);
        Assert.True(step.IsMalformed);
        Assert.Null(_validator.Last);
    }

    [Fact]
    public async Task OAuthBearer_unescapes_the_identity()
    {
        await Create(SaslMechanisms.OAuthBearer).StartAsync(Bytes("n,a=a=2Cb=3Dc,^Aauth=Bearer bad^A^A"));
        Assert.Equal("a,b=c", _validator.Last!.User);
    }

    [Fact]
    public async Task XOAuth2_accepts_a_valid_token_for_the_user_named()
    {
        var step = await Create(SaslMechanisms.XOAuth2).StartAsync(Bytes("user=user@example.test^Aauth=Bearer good^A^A"));
        Assert.Equal(SaslStepKind.Success, step.Kind);
        Assert.Equal(new OAuthToken("XOAUTH2", "good", "user@example.test", "imap"), _validator.Last);
    }

    [Fact]
    public async Task XOAuth2_answers_a_refused_token_with_its_error_then_fails_on_the_empty_answer()
    {
        var challenges = new List<string>();
        var end = await SaslExchange.RunAsync(Create(SaslMechanisms.XOAuth2), Bytes("user=user@example.test^Aauth=Bearer bad^A^A"), c =>
        {
            challenges.Add(Encoding.UTF8.GetString(c));
            return ValueTask.FromResult<byte[]?>([]);
        });
        Assert.Equal(SaslStepKind.Failure, end!.Value.Kind);
        Assert.Equal(["""{"status":"401","schemes":"bearer"}"""], challenges);
    }

    [Theory]
    [InlineData("auth=Bearer good^A^A")]          // no user
    [InlineData("user=^Aauth=Bearer good^A^A")]   // an empty user
    [InlineData("user=user@example.test^A^A")]    // no token
    public async Task XOAuth2_refuses_a_malformed_message(string message)
    {
        var step = await Create(SaslMechanisms.XOAuth2).StartAsync(Bytes(message));
        Assert.True(step.IsMalformed);
        Assert.Null(_validator.Last);
    }

    [Theory]
    [InlineData("")]
    [InlineData("x-oauth")]            // lower case
    [InlineData("TWENTY-ONE-CHARS-LONG")]
    [InlineData("SP ACE")]
    public void A_name_SASL_does_not_allow_is_refused(string name) =>
        Assert.Throws<ArgumentException>(() => new SaslMechanismRegistry().Add(name, _ => throw new InvalidOperationException()));

    // A directory that keeps only password hashes.
    private sealed class HashOnly(IUserDirectory inner) : IUserDirectory
    {
        public ValueTask<MailUser?> FindByLoginAsync(string login, CancellationToken cancellationToken = default) => inner.FindByLoginAsync(login, cancellationToken);
        public ValueTask<MailUser?> FindByAddressAsync(string address, CancellationToken cancellationToken = default) => inner.FindByAddressAsync(address, cancellationToken);
        public ValueTask<bool> VerifyPasswordAsync(MailUser user, string password, CancellationToken cancellationToken = default) => inner.VerifyPasswordAsync(user, password, cancellationToken);
        public ValueTask<string?> GetSharedSecretAsync(MailUser user, CancellationToken cancellationToken = default) => ValueTask.FromResult<string?>(null);
        public ValueTask<ScramCredential?> GetScramCredentialAsync(MailUser user, CancellationToken cancellationToken = default) => inner.GetScramCredentialAsync(user, cancellationToken);
    }

    [Fact]
    public void The_registry_offers_what_the_directory_can_run_in_the_order_asked()
    {
        var registry = new SaslMechanismRegistry();
        var clearText = new InMemoryUserDirectory();
        Assert.Equal(["PLAIN", "CRAM-MD5", "SCRAM-SHA-256"], registry.SelectAvailable(["PLAIN", "CRAM-MD5", "XOAUTH2", "SCRAM-SHA-256"], clearText));
        Assert.Equal(["PLAIN", "SCRAM-SHA-256"], registry.SelectAvailable(["PLAIN", "CRAM-MD5", "SCRAM-SHA-256"], new HashOnly(clearText)));

        registry.Add("X-SECRET", c => throw new InvalidOperationException(), requiresSharedSecrets: true);
        Assert.False(registry.IsAvailable("x-secret", new HashOnly(clearText)));
        Assert.True(registry.IsAvailable("x-secret", clearText));
        Assert.True(registry.Remove("LOGIN"));
        Assert.False(registry.Contains("login"));
        Assert.Null(registry.Create("LOGIN", new SaslContext(clearText, "mx", TimeProvider.System, default, "smtp")));
    }
}
