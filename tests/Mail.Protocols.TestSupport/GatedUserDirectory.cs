using Mail.Protocols.Users;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Mail.Protocols.TestSupport;

/// <summary>
/// A user directory that holds every password check until the test opens <see cref="Gate"/>, and counts the checks:
/// for tests of logins in parallel, where no check may end (and be counted) before the others have been asked.
/// </summary>
public sealed class GatedUserDirectory(IUserDirectory inner) : IUserDirectory
{
    private readonly SemaphoreSlim _entered = new(0);
    private int _verifications;

    /// <summary>Opened by the test: every check waiting at it goes on.</summary>
    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How many password checks have begun.</summary>
    public int Verifications => Volatile.Read(ref _verifications);

    /// <summary>
    /// Waits until each of <paramref name="guesses"/> login attempts is either a check waiting at the gate or a refusal
    /// the server counted in <paramref name="refused"/> (its rate-limit metric): the server's own facts, so no client read
    /// has to wait on the gate under a deadline of its own.
    /// </summary>
    public async Task WaitUntilCheckedOrRefusedAsync(MetricCollector<long> refused, int guesses)
    {
        ArgumentNullException.ThrowIfNull(refused);
        var entered = _entered.WaitAsync();
        while (Verifications + refused.GetMeasurementSnapshot().Count < guesses)
        {
            var next = await Task.WhenAny(entered, refused.WaitForMeasurementsAsync(refused.GetMeasurementSnapshot().Count + 1))
                .WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            if (next == entered)
            {
                entered = _entered.WaitAsync();
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<MailUser?> FindByLoginAsync(string login, CancellationToken cancellationToken = default) => inner.FindByLoginAsync(login, cancellationToken);

    /// <inheritdoc />
    public ValueTask<MailUser?> FindByAddressAsync(string address, CancellationToken cancellationToken = default) => inner.FindByAddressAsync(address, cancellationToken);

    /// <inheritdoc />
    public ValueTask<string?> GetSharedSecretAsync(MailUser user, CancellationToken cancellationToken = default) => inner.GetSharedSecretAsync(user, cancellationToken);

    public bool HasSharedSecrets => inner.HasSharedSecrets;

    /// <inheritdoc />
    public ValueTask<ScramCredential?> GetScramCredentialAsync(MailUser user, CancellationToken cancellationToken = default) => inner.GetScramCredentialAsync(user, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<bool> VerifyPasswordAsync(MailUser user, string password, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _verifications);
        _entered.Release();
        await Gate.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await inner.VerifyPasswordAsync(user, password, cancellationToken).ConfigureAwait(false);
    }
}
