using Microsoft.Extensions.Options;

namespace Mail.Protocols.Hosting.Configuration;

/// <summary>Validates settings at start with a check whose messages each name the setting at fault.</summary>
internal sealed class SettingsValidation<T>(Func<T, IEnumerable<string>> check) : IValidateOptions<T> where T : class
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var failures = check(options).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
