-- A run that trains only the policy was kind 'ppo'; it is 'policy' now that GRPO and DPO
-- train policies too (the API still accepts 'ppo' in a request and stores 'policy').
UPDATE `training_runs` SET `kind` = 'policy' WHERE `kind` = 'ppo';
