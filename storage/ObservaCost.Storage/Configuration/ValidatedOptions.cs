using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ObservaCost.Storage.Configuration;

/// <summary>
/// The one registration of validated options for every ObservaCost library and host: bound from a configuration
/// section, checked by an <see cref="IValidateOptions{TOptions}"/> that names each failing key, at start-up. It lives
/// here, in the contract every library already references, so that no library needs a host's helper for it.
/// </summary>
public static class ValidatedOptions
{
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, IConfiguration config, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(config);
        services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
        return services.AddOptions<TOptions>().Bind(config.GetSection(section)).ValidateOnStart();
    }
}
